"""The module boundary on small modules in a library OS of their own, compiled and pre-linked as a build does, for
both arches: only a module's contract stays global, the linker itself refuses to bind to the rest, and a module or
an app that uses another module's private function fails with one line naming both and the symbol."""
import platform
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from uniforge.building import modules, targets
from uniforge.building.compiler import CompileJob, Toolchain
from uniforge.building.elfsyms import object_symbols
from uniforge.building.resolve import resolve
from uniforge.core.errors import LinkError, ModuleError, ResolveError

TOOLCHAINS = {t.arch: Toolchain.for_target(t) for t in map(targets.load, ("qemu-x86_64", "qemu-armv7"))}

STORE = {
    "module.toml": 'name = "store"\nsummary = "s"\nversion = "1"\ninit = "uf_store_init"\n'
                   '[sources]\nall = ["store.c", "slots.c"]\n',
    # uf_store_slot is named in a comment and a string only: that declares nothing.
    "include/uf/store.h": '/* uf_store_get: 10 times uf_store_slot(key) */\nint uf_store_get(int key);\n'
                          '#define UF_STORE_WHO "uf_store_slot"\n',
    "store.c": "int uf_store_slot(int key);\nint uf_store_get(int key) { return uf_store_slot(key) * 10; }\n"
               "void uf_store_init(void) {}\nlong uf_sys_getpid(void) { return 1; }\n",
    "slots.c": "int uf_store_count = 4;\nint uf_store_slot(int key) { return key % uf_store_count; }\n",
}
USER = {
    "module.toml": 'name = "user"\nsummary = "u"\nversion = "1"\n[sources]\nall = ["user.c"]\n',
    "include/uf/user.h": "int uf_user_run(int key);\n",
    "user.c": "int uf_store_get(int key);\nint uf_user_run(int key) { return uf_store_get(key) + 2; }\n",
}


def make_libos(root: Path, **extra: dict[str, str]) -> Path:
    for name, files in {"store": STORE, "user": USER, **extra}.items():
        for rel, text in files.items():
            (root / name / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / name / rel).write_text(text)
    return root


@pytest.fixture
def libos(tmp_path, monkeypatch):
    monkeypatch.setenv("UNIFORGE_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "libos"
    monkeypatch.setattr(modules, "libos_dir", lambda: root)
    return root


def compile_all(arch: str) -> dict[str, modules.CompiledModule]:
    found = modules.load_all()
    toolchain = TOOLCHAINS[arch]
    args = toolchain.compile_args(include_dirs=modules.include_dirs(found), flags=["-O2"])
    return modules.compile_for_target(found, toolchain, arch, "qemu", args)


def bindings(path: Path) -> dict[str, str]:
    with open(path, "rb") as f:
        return {s.name: s["st_info"]["bind"] for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()
                if s.name and s["st_shndx"] != "SHN_UNDEF"}


@pytest.mark.parametrize("arch", sorted(TOOLCHAINS))
def test_only_the_contract_stays_global(libos, arch):
    make_libos(libos)
    compiled = compile_all(arch)
    store = compiled["store"]
    assert store.defined == {"uf_store_get", "uf_store_init", "uf_sys_getpid"}     # header, init, syscall
    assert store.private == {"uf_store_slot", "uf_store_count"}
    # (ARM's unwind tables name the EHABI personality routine: not ours.)
    needs = {name: {s for s in m.undefined if not s.startswith("__aeabi_")} for name, m in compiled.items()}
    assert needs == {"store": set(), "user": {"uf_store_get"}}
    binds = bindings(store.object)
    assert {binds[s] for s in store.private} == {"STB_LOCAL"}
    assert {binds[s] for s in store.defined} == {"STB_GLOBAL"}
    # One object per module, in the cache entry with the module's own objects.
    assert store.object.name == "store.o" and store.object.parent.name != "objects"
    assert sorted(p.name for p in (store.object.parent / "objects").iterdir()) == ["slots.o", "store.o"]


@pytest.mark.parametrize("arch", sorted(TOOLCHAINS))
def test_the_linker_binds_to_contracts_only(libos, tmp_path, arch):
    """ld.lld links a program through the contract, and refuses one that calls a private function."""
    make_libos(libos)
    compiled = compile_all(arch)
    toolchain = TOOLCHAINS[arch]
    exit_call = ('__asm__ volatile("syscall" :: "a"(60), "D"(r));' if arch == "x86_64" else
                 'register int r0 __asm__("r0") = r; register int r7 __asm__("r7") = 1; '
                 '__asm__ volatile("svc #0" :: "r"(r0), "r"(r7));')
    for name, call in (("good", "uf_user_run(5)"), ("bad", "uf_store_slot(5)")):
        (tmp_path / f"{name}.c").write_text(f"int uf_user_run(int); int uf_store_slot(int);\n"
                                            f"void _start(void) {{ int r = {call}; {exit_call} for (;;); }}\n")
        toolchain.compile(CompileJob(tmp_path / f"{name}.c", tmp_path / f"{name}.o",
                                     (*toolchain.target_args(), "-O2", "-ffreestanding")))
    objects = [str(compiled[m].object) for m in ("user", "store")]
    toolchain.link(tmp_path / "good", ["-static", "-e", "_start", str(tmp_path / "good.o"), *objects])
    with pytest.raises(LinkError, match="undefined symbol: uf_store_slot"):
        toolchain.link(tmp_path / "bad", ["-static", "-e", "_start", str(tmp_path / "bad.o"), *objects])
    if arch == "x86_64" and platform.system() == "Linux" and platform.machine() == "x86_64":
        # 5 % 4 * 10 + 2: the private functions still work inside their module.
        assert subprocess.run([tmp_path / "good"], timeout=10).returncode == 12


def test_a_module_that_uses_another_modules_private_function_fails_the_build(libos):
    thief = {"module.toml": 'name = "thief"\nsummary = "t"\nversion = "1"\n[sources]\nall = ["thief.c"]\n',
             "thief.c": "int uf_store_slot(int key);\nint uf_thief(void) { return uf_store_slot(1); }\n"}
    make_libos(libos, thief=thief)
    with pytest.raises(ModuleError) as e:
        compile_all("x86_64")
    assert e.value.message == ("module 'thief' uses 'uf_store_slot', which module 'store' keeps private (no public "
                               "header declares it)")
    assert "include/uf/<module>.h" in e.value.hint


def test_a_weak_reference_to_a_private_function_fails_too(libos):
    """It would link, and stay NULL for ever."""
    thief = {"module.toml": 'name = "thief"\nsummary = "t"\nversion = "1"\n[sources]\nall = ["thief.c"]\n',
             "thief.c": "int uf_store_slot(int key) __attribute__((weak));\n"
                        "int uf_thief(void) { return uf_store_slot ? uf_store_slot(1) : 0; }\n"}
    make_libos(libos, thief=thief)
    with pytest.raises(ModuleError, match="module 'thief' uses 'uf_store_slot', which module 'store' keeps private"):
        compile_all("armv7")


def test_an_app_that_calls_a_private_function_is_told_whose_it_is(libos, tmp_path):
    make_libos(libos)
    compiled = compile_all("x86_64")
    (tmp_path / "main.c").write_text("int uf_store_slot(int); int main(void) { return uf_store_slot(3); }\n")
    toolchain = TOOLCHAINS["x86_64"]
    toolchain.compile(CompileJob(tmp_path / "main.c", tmp_path / "main.o", tuple(toolchain.target_args())))
    with pytest.raises(ResolveError) as e:
        resolve({"main.c": object_symbols(tmp_path / "main.o")}, compiled, [], (), set(), sorted)
    assert e.value.message == ("undefined symbol 'uf_store_slot', needed by app main.c: module 'store' keeps it "
                               "private (no public header declares it)")


def test_the_entry_symbol_is_wanted_like_any_other(libos):
    make_libos(libos)
    compiled = compile_all("x86_64")
    assert resolve({}, compiled, [], (), set(), sorted, entry="uf_user_run").modules == ["store", "user"]
    with pytest.raises(ResolveError, match="'uf_store_slot', needed by the linker script \\(ENTRY\\): module 'store'"):
        resolve({}, compiled, [], (), set(), sorted, entry="uf_store_slot")


def test_the_prelinked_object_is_cached_and_follows_the_headers(libos):
    make_libos(libos)
    first = compile_all("armv7")["store"]
    again = compile_all("armv7")["store"]
    assert (first.cached, again.cached, again.object) == (False, True, first.object)
    # Declaring the helper in a public header makes it part of the contract: a new entry, built anew.
    header = libos / "store" / "include" / "uf" / "store.h"
    header.write_text(header.read_text() + "int uf_store_slot(int key);\n")
    declared = compile_all("armv7")["store"]
    assert not declared.cached and declared.object != first.object
    assert "uf_store_slot" in declared.defined and bindings(declared.object)["uf_store_slot"] == "STB_GLOBAL"
