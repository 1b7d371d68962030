"""tests/conformance/libctest.py's view of a libc-test checkout, on a small made-up one: which files are tests,
what each links, which are counted apart."""
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "conformance"))
import libctest  # noqa: E402

FILES = {
    "src/common/test.h": "#define t_error(...) t_printf(T_LOC1(__LINE__) \": \" __VA_ARGS__)\nint t_printf(const char *, ...);\n",
    "src/common/print.c": "volatile int t_status = 0;\nint t_printf(const char *s, ...)\n{\n\treturn 0;\n}\n",
    "src/common/setrlim.c": "int t_setrlim(int r, long lim)\n{\n\treturn t_printf(\"x\");\n}\n",
    "src/common/runtest.c": "int main(void) { return 0; }\n",
    "src/functional/plain.c": "int main(void) { t_error(\"no\"); return 0; }\n",
    "src/functional/limits.c": "int main(void) { return t_setrlim(1, 2); }\n",
    "src/functional/spawner.c": "int main(void) { return fork(); }\n",
    "src/functional/loader.c": "int main(void) { return 0; }\n",
    "src/functional/loader.mk": "$(N).BINS:=$(B)/$(N).exe\n$(N).LDFLAGS:=-rdynamic\n",
    "src/functional/lib_dso.c": "int x;\n",
    "src/functional/lib_dso.mk": "$(N).BINS:=\n$(N).LIBS:=$(B)/$(N).so\n",
    "src/functional/tls.c": "int main(void) { return 0; }\n",
    "src/functional/tls.mk": "$(N)-static.LDLIBS := $(B)/$(D)/lib_dso.o\n",
    "src/math/sin.c": "int main(void) { return 0; }\n",
}


def test_discover(tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    tests = {t.name: t for t in libctest.discover(tmp_path)}
    assert set(tests) == {"functional/plain", "functional/limits", "functional/spawner", "functional/loader",
                          "functional/tls", "math/sin"}      # a shared object is no test
    names = {n: [p.name for p in t.sources] for n, t in tests.items()}
    assert names["functional/plain"] == ["plain.c", "print.c"]           # through t_error's macro
    assert names["functional/limits"] == ["limits.c", "setrlim.c", "print.c"]      # and what the helper names
    assert names["functional/tls"] == ["tls.c", "lib_dso.c"]             # the object its .mk links statically
    assert names["math/sin"] == ["sin.c"]
    assert tests["functional/spawner"].apart == "fork/exec"
    assert tests["functional/loader"].apart == "dlopen/shared objects"
    assert tests["functional/plain"].apart is None and tests["math/sin"].group == "math"
