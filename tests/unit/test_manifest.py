import pytest

from uniforge.building import manifest
from uniforge.core.errors import ManifestError


def write(tmp_path, text, files=("main.c",)):
    for f in files:
        (tmp_path / f).write_text("int main(void) { return 0; }\n")
    path = tmp_path / "uniforge.toml"
    path.write_text(text)
    return path


def error_of(tmp_path, text, files=("main.c",)) -> str:
    with pytest.raises(ManifestError) as e:
        manifest.load(write(tmp_path, text, files))
    message = e.value.message
    assert "\n" not in message, "errors are one line"
    assert str(tmp_path / "uniforge.toml") in message, "errors name the file"
    return message


def test_valid_manifest_with_defaults(tmp_path):
    m = manifest.load(write(tmp_path, 'name = "app"\nsources = ["main.c"]\n'))
    assert m.name == "app" and m.sources == (tmp_path / "main.c",)
    assert m.target == "qemu-x86_64" and m.memory is None and m.cmdline == "" and m.debug is False


def test_glob_sources(tmp_path):
    m = manifest.load(write(tmp_path, 'name = "app"\nsources = ["*.c"]\n', files=("a.c", "b.c")))
    assert [p.name for p in m.sources] == ["a.c", "b.c"]


def test_missing_source_names_key_and_file(tmp_path):
    message = error_of(tmp_path, 'name = "app"\nsources = ["mian.c"]\n')
    assert "'sources'" in message and "mian.c" in message


def test_unknown_key_suggests(tmp_path):
    message = error_of(tmp_path, 'name = "app"\nsources = ["main.c"]\ncflag = ["-O3"]\n')
    assert "unknown key 'cflag'" in message and "did you mean 'cflags'" in message


def test_bad_type(tmp_path):
    message = error_of(tmp_path, 'name = "app"\nsources = "main.c"\n')
    assert "'sources' must be a list" in message


def test_bool_is_not_a_string(tmp_path):
    message = error_of(tmp_path, 'name = "app"\nsources = ["main.c"]\ndebug = "yes"\n')
    assert "'debug' must be true or false" in message


def test_unknown_target(tmp_path):
    message = error_of(tmp_path, 'name = "app"\nsources = ["main.c"]\ntarget = "qemu-sparc"\n')
    assert "'target'" in message and "qemu-sparc" in message and "qemu-x86_64" in message


def test_missing_required_key(tmp_path):
    assert "missing required key 'name'" in error_of(tmp_path, 'sources = ["main.c"]\n')


def test_bad_memory_and_name(tmp_path):
    assert "'memory'" in error_of(tmp_path, 'name = "app"\nsources = ["main.c"]\nmemory = "lots"\n')
    assert "'name'" in error_of(tmp_path, 'name = "My App"\nsources = ["main.c"]\n')


def test_broken_toml(tmp_path):
    assert "not valid TOML" in error_of(tmp_path, 'name = "app\n')


def test_find_walks_up(tmp_path):
    path = write(tmp_path, 'name = "app"\nsources = ["main.c"]\n')
    (tmp_path / "src" / "deep").mkdir(parents=True)
    assert manifest.find(tmp_path / "src" / "deep") == path
    with pytest.raises(ManifestError):
        manifest.find(tmp_path.parent / "elsewhere-that-does-not-exist")


def test_etc_folder(tmp_path):
    (tmp_path / "etc").mkdir()
    m = manifest.load(write(tmp_path, 'name = "app"\nsources = ["main.c"]\netc = "etc"\n'))
    assert m.etc == tmp_path / "etc"
    assert manifest.load(write(tmp_path, 'name = "app"\nsources = ["main.c"]\n')).etc is None
    message = error_of(tmp_path, 'name = "a"\nsources = ["main.c"]\netc = "nowhere"\n')
    assert "key 'etc': 'nowhere' is not a folder" in message


def test_cxx_sources_are_sources(tmp_path):
    files = ("main.cpp", "a.cc", "b.cxx", "c.C", "start.S")
    m = manifest.load(write(tmp_path, 'name = "app"\nsources = ["main.cpp", "a.cc", "b.cxx", "c.C", "start.S"]\n',
                            files=files))
    assert [p.name for p in m.sources] == list(files)


def test_a_header_is_not_a_source(tmp_path):
    message = error_of(tmp_path, 'name = "app"\nsources = ["main.cpp", "shapes.hpp"]\n',
                       files=("main.cpp", "shapes.hpp"))
    assert "'shapes.hpp' is not a C, C++ or assembly source" in message and "include_dirs" in message


def test_cxxflags_are_apart_from_cflags(tmp_path):
    m = manifest.load(write(tmp_path, 'name = "app"\nsources = ["main.cpp"]\ncflags = ["-DX"]\n'
                                      'cxxflags = ["-std=c++20"]\n', files=("main.cpp",)))
    assert m.cflags == ("-DX",) and m.cxxflags == ("-std=c++20",)
