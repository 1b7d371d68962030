"""The library OS's conventions, checked on the compiled modules of every arch (exports are read, never listed)."""
import pytest

from conftest import compiled_modules
from uniforge.building import targets


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
    target, mods = compiled
    for name, mod in mods.items():
        bad = sorted(s for s in mod.defined if not s.startswith("uf_"))
        assert not bad, f"module {name} exports names without the uf_ prefix on {target.arch}: {bad}"


def test_target_modules_build_for_their_arch(compiled):
    target, mods = compiled
    missing = [m for m in target.modules if m not in mods]
    assert not missing, f"{target.name} always links {missing}, which have no sources for {target.arch}"


def test_no_two_modules_export_one_symbol(compiled):
    """Except alternatives (console devices, virtio transports) of which the target's `modules` or `picks` take
    one."""
    target, mods = compiled
    owners = {}
    for name, mod in sorted(mods.items()):
        for sym in mod.defined:
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
