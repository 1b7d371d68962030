"""The cross toolchain's command line: `uniforge env` is eval-able by a shell, `uniforge cc` compiles as the
build does and its own errors are one line; archives read back as the linker sees them."""
import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from uniforge.building import archives, linkrecord, manifest
from uniforge.core.errors import ExitCode, ManifestError
from uniforge.testing import uniforge


def test_env_is_evaluable_and_complete(tmp_path):
    out = uniforge("env", "-t", "qemu-x86_64", check=True).stdout
    script = f'{out}\nfor n in CC CXX AR RANLIB CFLAGS LDFLAGS UNIFORGE_HOST CMAKE_TOOLCHAIN_FILE; do ' \
             'eval "printf \'%s=%s\\n\' $n \\"\\$$n\\""; done'
    proc = subprocess.run(["sh", "-ec", script], capture_output=True, text=True, check=True)
    seen = dict(line.split("=", 1) for line in proc.stdout.splitlines())
    assert seen["UNIFORGE_HOST"] == "x86_64-unknown-linux-musl"
    for tool in ("CC", "CXX", "AR", "RANLIB"):
        assert Path(seen[tool]).is_file() and Path(seen[tool]).stat().st_mode & 0o111, seen[tool]
    cmake = Path(seen["CMAKE_TOOLCHAIN_FILE"]).read_text()
    assert f'set(CMAKE_C_COMPILER "{seen["CC"]}")' in cmake
    # autoconf's site defaults: static libraries (libtool), unless configure is told otherwise.
    site = subprocess.run(["sh", "-c", f'. "{seen["CMAKE_TOOLCHAIN_FILE"].replace("toolchain.cmake", "config.site")}"'
                           '; echo "$enable_shared"'], capture_output=True, text=True, check=True).stdout
    assert site == "no\n"
    # The CC it names links with that target's toolchain, resolved by `uniforge env` beside it.
    kit = Path(seen["CC"]).with_name("kit.json")
    assert f"-m uniforge.building.cclink {kit}" in Path(seen["CC"]).read_text()
    assert f"-m uniforge.building.cclink {kit} --c++" in Path(seen["CXX"]).read_text()
    assert json.loads(kit.read_text())["target"] == "qemu-x86_64"


def test_a_link_by_the_env_cc_loads_no_resolver():
    """The CC of `uniforge env` links through cclink alone: no command line, templates, ELF reader, manifest or
    pipeline is imported (each would cost its import in every configure check)."""
    heavy = ["click", "jinja2", "elftools", "uniforge.building.pipeline", "uniforge.building.manifest",
             "uniforge.building.musl", "uniforge.building.targets", "uniforge.api.app"]
    proc = subprocess.run([sys.executable, "-c", "import sys, uniforge.building.cclink, uniforge; "
                           f"print([m for m in {heavy!r} if m in sys.modules])"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout == "[]\n", proc.stdout


def test_env_for_armv7_names_its_triple():
    out = uniforge("env", "-t", "qemu-armv7", check=True).stdout
    assert "export UNIFORGE_HOST=arm-unknown-linux-musleabihf\n" in out
    assert "export UNIFORGE_TARGET=qemu-armv7\n" in out


@pytest.mark.parametrize("args, message", [
    (["cc", "-c", "x.c"], "uniforge: error: no target: give -t TARGET or set UNIFORGE_TARGET"),
    (["cc", "-t", "nope", "-c", "x.c"], "uniforge: error: unknown target 'nope'"),
    (["cc", "-t", "qemu-x86_64", "-shared", "-o", "libx.so", "x.o"], "uniforge: error: cannot link with -shared"),
    (["cc", "-t", "qemu-x86_64", "-o", "x", "x.o", "-lnosuchlib"], "uniforge: error: cannot find -lnosuchlib"),
])
def test_cc_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "x.c").write_text("int main(void) { return 0; }\n")
    from uniforge.testing import uniforge_environment
    env = {k: v for k, v in uniforge_environment().items() if k != "UNIFORGE_TARGET"}
    if "x.o" in args:
        uniforge("cc", "-t", "qemu-x86_64", "-c", "x.c", cwd=tmp_path, env=env, check=True)
    proc = uniforge(*args, cwd=tmp_path, env=env)
    assert proc.returncode not in (0, ExitCode.INTERNAL), proc.stderr
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("  hint:")]
    assert lines == [lines[0]] and lines[0].startswith(message), proc.stderr
    assert "Traceback" not in proc.stderr


def test_cc_compiles_as_the_build_does(tmp_path):
    (tmp_path / "x.c").write_text("#ifndef __linux__\n#error not as for Linux\n#endif\n"
                                  "#include <stdio.h>\nint main(void) { return puts(\"x\") < 0; }\n")
    uniforge("cc", "-t", "qemu-x86_64", "-c", "x.c", "-o", "x.o", cwd=tmp_path, check=True)
    assert (tmp_path / "x.o").read_bytes()[:4] == b"\x7fELF"
    # A second compile in another folder makes the same bytes (no folder in the object).
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.c").write_text((tmp_path / "x.c").read_text())
    uniforge("cc", "-t", "qemu-x86_64", "-c", "x.c", "-o", "x.o", cwd=other, check=True)
    assert (other / "x.o").read_bytes() == (tmp_path / "x.o").read_bytes()
    # The CC of `uniforge env` (which compiles without starting Python) makes the same bytes too.
    env = dict(line.removeprefix("export ").split("=", 1) for line in
               uniforge("env", "-t", "qemu-x86_64", check=True).stdout.splitlines() if line.startswith("export "))
    subprocess.run([env["CC"], "-c", "x.c", "-o", "y.o"], cwd=other, check=True)
    assert (other / "y.o").read_bytes() == (tmp_path / "x.o").read_bytes()
    # Its link (with the toolchain `uniforge env` resolved) and `uniforge cc`'s make the same program and record.
    subprocess.run([env["CC"], "-o", "p1", "x.c"], cwd=other, check=True)
    uniforge("cc", "-t", "qemu-x86_64", "-o", "p2", "x.c", cwd=other, check=True)
    assert (other / "p1").read_bytes() == (other / "p2").read_bytes()
    assert linkrecord.path_of(other / "p1").read_text() == linkrecord.path_of(other / "p2").read_text()
    if platform.machine() == "x86_64":
        assert subprocess.run([other / "p1"], capture_output=True, text=True).stdout == "x\n"


def test_cxx_compiles_libcxx_thread_support(tmp_path):
    """`uniforge c++` compiles C++ with std::mutex, std::thread and std::condition_variable as they are: libc++'s
    one configuration has its thread support on (`uniforge build` compiles an app's C++ sources the same way)."""
    (tmp_path / "t.cpp").write_text("#include <condition_variable>\n#include <mutex>\n#include <thread>\n"
                                    "std::mutex m;\nstd::condition_variable c;\n"
                                    "void run() { std::thread t([] { std::lock_guard<std::mutex> g(m); }); "
                                    "t.join(); c.notify_all(); }\n")
    uniforge("c++", "-t", "qemu-armv7", "-c", "t.cpp", "-o", "t.o", cwd=tmp_path, check=True)
    assert (tmp_path / "t.o").read_bytes()[:4] == b"\x7fELF"


def test_archive_members_and_their_symbols(tmp_path):
    for name, text in (("a.c", "int a(void) { return 1; }\n"), ("a_rather_long_member_name.c", "int b(void);\n"
                                                                  "int c(void) { return b(); }\n")):
        (tmp_path / name).write_text(text)
        uniforge("cc", "-t", "qemu-x86_64", "-c", name, cwd=tmp_path, check=True)
    uniforge("ar", "-t", "qemu-x86_64", "rcs", "libx.a", "a.o", "a_rather_long_member_name.o", cwd=tmp_path,
             check=True)
    index = archives.index(tmp_path / "libx.a")
    assert index["a.o"]["defined"] == ["a"]
    assert index["a_rather_long_member_name.o"]["undefined"] == ["b"]


def test_a_link_record_from_another_target_is_refused(tmp_path):
    exe = tmp_path / "prog"
    exe.write_bytes(b"")
    (tmp_path / "x.o").write_bytes(b"")
    linkrecord.write(exe, linkrecord.LinkRecord("abi-1", ((linkrecord.OBJECT, tmp_path / "x.o"),)))
    assert linkrecord.read(exe, "abi-1", "here").objects == [tmp_path / "x.o"]
    with pytest.raises(ManifestError, match="built with other compile flags than this target"):
        linkrecord.read(exe, "abi-2", "here")
    # Kept relative to the executable's folder: the folder moved whole keeps its record true.
    assert json.loads(linkrecord.path_of(exe).read_text())["inputs"] == [{"object": "x.o"}]
    moved = tmp_path.rename(tmp_path.with_name(tmp_path.name + "-moved"))
    assert linkrecord.read(moved / "prog", "abi-1", "here").objects == [moved / "x.o"]


def test_manifest_takes_a_builds_output(tmp_path):
    (tmp_path / "uniforge.toml").write_text('name = "p"\nbuild = ["make"]\nlink_from = "out/prog"\n'
                                            'archives = ["libx.a"]\n')
    m = manifest.load(tmp_path / "uniforge.toml")
    assert m.build == ("make",) and m.link_from == tmp_path / "out/prog" and m.archives == (tmp_path / "libx.a",)
    (tmp_path / "uniforge.toml").write_text('name = "p"\nbuild = ["make"]\n')
    with pytest.raises(ManifestError, match="'link_from', 'objects' or 'archives'"):
        manifest.load(tmp_path / "uniforge.toml")


def test_a_failing_build_command_is_one_line(tmp_path):
    (tmp_path / "uniforge.toml").write_text('name = "p"\nbuild = ["true", "echo making; exit 3"]\nlink_from = "p"\n')
    proc = uniforge("build", "-t", "qemu-x86_64", cwd=tmp_path)
    assert proc.returncode == ExitCode.COMPILE, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("uniforge: error")]
    assert errors == [f"uniforge: error: {tmp_path / 'uniforge.toml'}: key 'build': `echo making; exit 3` failed "
                      "with status 3"], proc.stderr
    assert "making\n" in (tmp_path / "build/.work/qemu-x86_64/build.log").read_text()


def test_link_from_an_executable_uniforge_cc_did_not_link(tmp_path):
    (tmp_path / "prog").write_bytes(b"\x7fELF")
    (tmp_path / "uniforge.toml").write_text('name = "p"\nlink_from = "prog"\n')
    proc = uniforge("build", "-t", "qemu-x86_64", cwd=tmp_path)
    assert proc.returncode == ExitCode.MANIFEST, proc.stderr
    assert "key 'link_from': 'prog' was not linked by `uniforge cc` (no prog.uniforge.json beside it)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_kit_the_env_cc_cannot_use_is_one_line(tmp_path):
    """The CC of an older `uniforge env`: its kit unreadable, or naming a libc the cache no longer has."""
    kit = json.loads(Path(uniforge("env", "-t", "qemu-x86_64", check=True).stdout.split("export CC=", 1)[1]
                          .split("\n", 1)[0].strip("'")).with_name("kit.json").read_text())
    (tmp_path / "gone.json").write_text(json.dumps({**kit, "libc": str(tmp_path / "libc.a")}))
    (tmp_path / "old.json").write_text(json.dumps({"target": "qemu-x86_64"}))
    (tmp_path / "x.o").write_bytes(b"")
    for name, code, message in (("gone.json", ExitCode.LINK, f"{tmp_path / 'libc.a'} is gone from the cache"),
                                ("old.json", ExitCode.TOOL, "not a toolchain this uniforge can read")):
        proc = subprocess.run([sys.executable, "-m", "uniforge.building.cclink", str(tmp_path / name), "x.o", "-o",
                               "x"], cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode == code, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if not line.startswith("  hint:")]
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr, proc.stderr
