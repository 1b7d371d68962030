"""The library OS's conventions, checked on the compiled modules of every arch (exports are read, never listed)."""
import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

from conftest import compiled_modules
from uniforge.building import modules, targets
from uniforge.building.compiler import Toolchain


def _distinct_targets() -> list[str]:
    """One target per way of choosing modules (KVM's are its TCG twin's, which runs everywhere)."""
    kinds = {}
    for name in sorted(targets.names(), key=lambda n: n.startswith("kvm-")):
        t = targets.load(name)
        kinds.setdefault((t.arch, t.platform, t.modules, t.picks, t.compiler), name)
    return sorted(kinds.values())


@pytest.fixture(scope="module", params=_distinct_targets())
def compiled(request):
    return compiled_modules(request.param)


def test_every_export_is_prefixed(compiled):
    """Also the symbols the boundary made local: they are global in the module's own sources."""
    target, mods = compiled
    for name, mod in mods.items():
        bad = sorted(s for s in mod.defined | mod.private if not s.startswith("uf_"))
        assert not bad, f"module {name} exports names without the uf_ prefix on {target.arch}: {bad}"


def _object(path) -> dict:
    """A relocatable object as pyelftools reads it: every named symbol (binding apart) and every relocation with
    the name (or section) of the symbol it refers to, per relocation section."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        symbols = list(symtab.iter_symbols())
        binds = [s["st_info"]["bind"] for s in symbols]
        relocations = {}
        for section in elf.iter_sections():
            if isinstance(section, RelocationSection):
                relocations[section.name] = [
                    (r["r_offset"], r["r_info_type"], r.entry.get("r_addend"),
                     symbols[r["r_info_sym"]].name or symbols[r["r_info_sym"]]["st_shndx"])
                    for r in section.iter_relocations()]
        return {"binds": binds, "first_global": symtab["sh_info"], "relocations": relocations,
                "symbols": {s.name: (s["st_value"], s["st_size"], s["st_shndx"], s["st_info"]["type"],
                                     s["st_info"]["bind"])
                            for s in symbols if s.name and s["st_info"]["type"] != "STT_FILE"}}


def test_each_module_is_one_object_whose_globals_are_its_contract(compiled, tmp_path):
    """The pre-linked object (ld.lld -r, then localize.py): its defined globals are what public headers declare,
    its syscalls and its init; the rest is local, after the globals' place; and nothing but bindings moved: every
    relocation still refers to the same symbol as in a fresh ld.lld -r of the module's own objects."""
    target, mods = compiled
    public = modules.public_names(modules.load_all())
    toolchain = Toolchain.for_target(target)
    for name, mod in sorted(mods.items()):
        assert all(s in public or s.startswith("uf_sys_") or s == mod.module.init for s in mod.defined), name
        assert not mod.private & public, name
        sources = mod.module.sources_for(target.arch, target.platform)
        objects = [mod.object.parent / "objects" / src.relative_to(mod.module.folder).with_suffix(".o")
                   for src in sources]
        fresh = tmp_path / f"{name}.o"
        toolchain.link(fresh, ["-r", *map(str, objects)])
        before, after = _object(fresh), _object(mod.object)
        assert after["relocations"] == before["relocations"], f"module {name}: relocations changed"
        locals_ = [b == "STB_LOCAL" for b in after["binds"]]
        assert locals_ == sorted(locals_, reverse=True) and after["first_global"] == locals_.count(True), name
        made_local = {n for n, v in before["symbols"].items()
                      if v[4] != "STB_LOCAL" and after["symbols"][n][4] == "STB_LOCAL"}
        assert made_local == mod.private, name
        defined_globals = {n for n, v in after["symbols"].items() if v[4] != "STB_LOCAL" and v[2] != "SHN_UNDEF"}
        assert defined_globals == mod.defined, name
        assert {n: v[:4] for n, v in after["symbols"].items()} == {n: v[:4] for n, v in before["symbols"].items()}


def test_target_modules_build_for_their_arch(compiled):
    target, mods = compiled
    missing = [m for m in target.modules if m not in mods]
    assert not missing, f"{target.name} always links {missing}, which have no sources for {target.arch}"


def test_no_two_modules_export_one_symbol(compiled):
    """Except alternatives (console devices, virtio transports) of which the target's `modules` or `picks` take
    one, and weak defaults that another module's strong definition overrides (mem's mmap, module demand's)."""
    target, mods = compiled
    owners = {}
    for name, mod in sorted(mods.items()):
        for sym in mod.defined - mod.defaults:
            owners.setdefault(sym, []).append(name)
    for sym, names in owners.items():
        if len(names) > 1:
            picked = [n for n in names if n in target.modules or n in target.picks]
            assert len(picked) == 1, f"{sym} is defined by {', '.join(names)} on {target.name}, which picks {picked}"


def test_threaded_variants_need_only_module_thread(compiled):
    """An image that links module thread gets every module in its threaded variant (UF_THREADS, uf/thread.h): each
    compiles, exports what its single-threaded variant exports (the image was resolved with those), and needs
    nothing besides module thread's functions that modules its other variant brings in do not define."""
    target, mods = compiled
    threaded = compiled_modules(target.name, threaded=True)[1]
    for name, mod in mods.items():
        assert threaded[name].defined == mod.defined, f"module {name}'s threaded variant exports other names"
        linked = {other for other, m in mods.items() if m.defined & mod.undefined or other in mod.module.depends}
        available = threaded["thread"].defined.union(*(mods[other].defined for other in linked))
        extra = threaded[name].undefined - mod.undefined - available
        assert not extra, f"module {name}'s threaded variant needs {sorted(extra)}, which comes with nothing it links"
