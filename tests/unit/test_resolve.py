"""The resolver on small objects compiled for the purpose: transitive pull-in, missing and duplicate symbols."""
from pathlib import Path

import pytest

from uniforge.building.compiler import CompileJob, Toolchain
from uniforge.building.elfsyms import object_symbols
from uniforge.building.modules import CompiledModule, Module
from uniforge.building.resolve import reaches, resolve
from uniforge.core.errors import ResolveError

SOURCES = {
    "app": "int uf_net_send(int); int puts(const char *); int main(void) { puts(\"hi\"); return uf_net_send(1); }",
    "net": "int uf_nic_tx(int); int uf_net_send(int x) { return uf_nic_tx(x) + 1; }",
    "nic": "int uf_nic_tx(int x) { return x; }",
    "nic2": "int uf_nic_tx(int x) { return x * 2; }",
    "nicdefault": "__attribute__((weak)) int uf_nic_tx(int x) { return x; }",
    "console": "long uf_sys_write(long a) { return a; }",
    "unused": "int uf_unused(void) { return 0; }",
    "weakuser": "extern int uf_optional(void) __attribute__((weak)); int uf_w(void) { return uf_optional ? 1 : 0; }",
    "optional": "int uf_optional(void) { return 3; }",
}


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("objs")
    tc = Toolchain("x86_64-freestanding-none")
    jobs = []
    for name, code in SOURCES.items():
        (tmp / f"{name}.c").write_text(code)
        jobs.append(CompileJob(tmp / f"{name}.c", tmp / f"{name}.o", ("-target", tc.triple, "-O2", "-ffreestanding")))
    tc.compile_all(jobs)
    return {name: tmp / f"{name}.o" for name in SOURCES}


def compiled(objects, names, depends=None) -> dict[str, CompiledModule]:
    out = {}
    for name in names:
        syms = object_symbols(objects[name])
        module = Module(name=name, summary=f"{name} module", version="1.0", sources={}, folder=Path("."),
                        depends=tuple((depends or {}).get(name, ())))
        out[name] = CompiledModule(module, objects[name], frozenset(syms["defined"]),
                                   frozenset(syms["undefined"]), defaults=frozenset(syms["defaults"]))
    return out


LIBC = {"puts.o": {"defined": ["puts"], "undefined": ["uf_sys_write"]},
        "socket.o": {"defined": ["socket"], "undefined": ["uf_sys_socket"]}}


def run(objects, mods, required=("console",), app="app", depends=None):
    return resolve({f"{app}.c": object_symbols(objects[app])}, compiled(objects, mods, depends), [("libc", LIBC)], required,
                   set(), sorted)


def test_transitive_pull_in_and_only_what_is_needed(objects):
    result = run(objects, ["net", "nic", "console", "unused"])
    assert sorted(result.modules) == ["console", "net", "nic"]
    assert result.archive_members == ["libc puts.o"]          # socket.o is not needed
    assert result.reasons["nic"].symbol == "uf_nic_tx" and result.reasons["nic"].by == "module net"
    assert result.reasons["net"].by == "app app.c"


def test_depends_pulls_in(objects):
    result = run(objects, ["net", "nic", "console", "unused"], depends={"console": ["unused"]})
    assert "unused" in result.modules


def test_missing_symbol_names_symbol_and_who_wants_it(objects):
    with pytest.raises(ResolveError) as e:
        run(objects, ["net", "console"])
    assert "'uf_nic_tx'" in e.value.message and "module net" in e.value.message


def test_missing_app_symbol(objects):
    with pytest.raises(ResolveError) as e:
        run(objects, ["nic", "console"])
    assert "'uf_net_send', needed by app app.c" in e.value.message
    assert "sources" in e.value.hint


def test_duplicate_provider_is_an_error(objects):
    with pytest.raises(ResolveError) as e:
        run(objects, ["net", "nic", "nic2", "console"])
    assert "uf_nic_tx" in e.value.message and "nic, nic2" in e.value.message


def test_target_picks_between_duplicates(objects):
    result = run(objects, ["net", "nic", "nic2", "console"], required=("console", "nic2"))
    assert "nic2" in result.modules and "nic" not in result.modules


def test_a_weak_definition_is_the_default_and_a_strong_one_may_join_beside_it(objects):
    """mem's weak uf_sys_mmap and module demand's strong one: the weak one's module answers the need; the other, when
    it is linked for its own reasons, is no duplicate (the linker takes its definition)."""
    assert object_symbols(objects["nicdefault"])["defaults"] == ["uf_nic_tx"]
    result = run(objects, ["net", "nic", "nicdefault", "console"])
    assert "nicdefault" in result.modules and "nic" not in result.modules
    result = run(objects, ["net", "nic", "nicdefault", "console"], required=("console", "nic", "nicdefault"))
    assert {"nic", "nicdefault"} <= set(result.modules)
    with pytest.raises(ResolveError):           # two strong ones still are
        run(objects, ["net", "nic", "nic2", "nicdefault", "console"], required=("console", "nic", "nic2"))


def test_weak_reference_pulls_nothing(objects):
    result = resolve({"weakuser.c": object_symbols(objects["weakuser"])}, compiled(objects, ["optional", "console"]),
                     [("libc", LIBC)], ("console",), set(), sorted)
    assert result.modules == ["console"]


def test_a_cancellation_points_call_needs_the_syscall(objects):
    """uf_cp_NAME (templates/syscall_arch.h.j2) is made by the link from uf_sys_NAME: it pulls in that module."""
    libc = [("libc", {"read.o": {"defined": ["read"], "undefined": ["uf_cp_write"]}})]
    app = {"app.c": {"defined": ["main"], "undefined": ["read"]}}
    result = resolve(app, compiled(objects, ["console", "net"]), libc, (), set(), sorted)
    assert result.modules == ["console"] and result.reasons["console"].symbol == "uf_sys_write"


def test_reaches_follows_members_and_stops_at_skipped_ones():
    """Which of some symbols the app itself needs (a module's `app_uses`: FAT, stdin): through libc members, but not
    through the members skip() names (the libc's own look-ups in /etc)."""
    index = {"fopen.o": {"defined": ["fopen"], "undefined": ["uf_sys_open"]},
             "getpw.o": {"defined": ["getpwnam"], "undefined": ["fopen"]},
             "printf.o": {"defined": ["printf"], "undefined": ["uf_sys_write"]}}
    app = {"main.c": {"defined": ["main"], "undefined": ["getpwnam", "printf"]}}
    assert reaches(app, index, {"uf_sys_open"}, lambda member: member == "getpw.o") is None
    assert reaches(app, index, {"uf_sys_open"}, lambda member: False) == "uf_sys_open"
    app["main.c"]["undefined"].append("fopen")
    assert reaches(app, index, {"uf_sys_open", "fopen"}, lambda member: member == "getpw.o") == "fopen"


def test_a_missing_service_names_the_apps_call(tmp_path):
    """A libc member needs what nothing provides: the error names the app's function and line that called into
    it, through every member that pulled in the next (callsite.py finds the line from the object's DWARF)."""
    from uniforge.building.callsite import CallSites
    source = tmp_path / "app.c"
    source.write_text("int spawn_it(void);\n"
                      "static int start(void)\n{\n\treturn spawn_it();\n}\n"
                      "int main(void)\n{\n\treturn start() + 1;\n}\n")
    tc = Toolchain("x86_64-freestanding-none")
    obj = tmp_path / "app.o"
    tc.compile(CompileJob(source, obj, ("-target", tc.triple, "-O0", "-g", "-ffreestanding", "-fno-sanitize=all",
                                        f"-fdebug-prefix-map={tmp_path}=.")))
    libc = {"spawn.o": {"defined": ["spawn_it"], "undefined": ["clone_it"]},
            "clone.o": {"defined": ["clone_it"], "undefined": ["uf_sys_clone"]}}
    sites = CallSites(tc, {"app.c": obj}, tmp_path)
    with pytest.raises(ResolveError) as e:
        resolve({"app.c": object_symbols(obj)}, {}, [("libc", libc)], (), set(), sorted, call_sites=sites.describe)
    assert ("undefined symbol 'uf_sys_clone', needed by libc clone.o, which the app needs for spawn_it "
            "(via clone_it), called in start at app.c:4") in e.value.message
