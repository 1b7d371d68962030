"""The C++ runtime's build (building/cxx.py) and its index by section (elfsyms.section_symbols): what the resolver
sees of a member is what --gc-sections keeps of it; a runtime that cannot be built is one line of error."""
import pytest

from uniforge.building import cxx, musl
from uniforge.building.compiler import CompileJob, Toolchain
from uniforge.building.elfsyms import section_symbols
from uniforge.core.errors import CompileError, ToolError

HOSTED = Toolchain("x86_64-linux-musl", hosted=True)

# Two functions in one object: wide() reaches helper() (static) and through it fopen; narrow() needs only strlen.
# The object's static constructor needs puts, wherever the object is taken.
SOURCE = """
int fopen(const char *, const char *);
int strlen(const char *);
int puts(const char *);
__attribute__((weak)) int optional_thing(void);
static __attribute__((noinline)) int helper(const char *s) { return fopen(s, "r") + (optional_thing ? 1 : 0); }
int wide(const char *s) { return helper(s); }
int narrow(const char *s) { return strlen(s); }
static void __attribute__((constructor)) setup(void) { puts("hi"); }
"""


def test_each_section_needs_what_it_reaches_and_what_the_object_always_keeps(tmp_path):
    (tmp_path / "two.c").write_text(SOURCE)
    HOSTED.compile(CompileJob(tmp_path / "two.c", tmp_path / "two.o",
                              tuple(HOSTED.compile_args(flags=["-O1"]))))
    units = section_symbols(tmp_path / "two.o", "lib/two.o")
    assert units["lib/two.o(.text.wide)"] == {"defined": ["wide"], "undefined": ["fopen", "puts"],
                                              "weak": ["optional_thing"]}
    assert units["lib/two.o(.text.narrow)"] == {"defined": ["narrow"], "undefined": ["puts", "strlen"], "weak": []}


def test_a_runtime_that_does_not_compile_is_one_line_of_error(tmp_path, monkeypatch):
    monkeypatch.setenv("UNIFORGE_CACHE", str(tmp_path / "cache"))
    lib = tmp_path / "lib"
    (lib / "libcxx/src").mkdir(parents=True)
    broken = lib / "libcxx/src/broken.cpp"
    broken.write_text("#error this runtime is broken\n")
    monkeypatch.setattr(cxx, "_lib", lambda toolchain: lib)
    monkeypatch.setattr(cxx, "sources", lambda toolchain: {"libc++": [broken], "libc++abi": [], "libunwind": []})
    with pytest.raises(CompileError) as e:
        cxx.build(HOSTED, musl.headers("x86_64"), musl.HEADERS_NAME)
    assert "\n" not in e.value.message, e.value.message
    assert "the C++ runtime does not build for x86_64-linux-musl" in e.value.message
    assert "this runtime is broken" in e.value.message


def test_a_compiler_without_the_runtimes_sources_is_one_line_of_error(tmp_path, monkeypatch):
    monkeypatch.setattr(cxx, "_lib", lambda toolchain: tmp_path)
    with pytest.raises(ToolError) as e:
        cxx.build(HOSTED, musl.headers("x86_64"), musl.HEADERS_NAME)
    assert "\n" not in e.value.message and "libc++'s sources" in e.value.message
