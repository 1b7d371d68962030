"""From the app's undefined symbols to the set of library-OS modules the image needs.

A worklist over symbols: each needed symbol is taken from an object already in, else from a library-OS module (pulled
in whole, with its own undefined symbols and `depends`), else from a libc member (archive semantics: pulled in only
for a strong reference). Weak references pull in nothing, as in the linker. A cancellation point's call, uf_cp_NAME,
is made by the link (pipeline.py): it needs uf_sys_NAME.
"""
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.errors import ResolveError
from .modules import CompiledModule

SYSCALL_PREFIX = "uf_sys_"
CANCEL_POINT_PREFIX = "uf_cp_"      # templates/syscall_arch.h.j2: the libc's cancellation points


@dataclass(frozen=True)
class Wanted:
    symbol: str
    by: str                 # who needs it: "app main.o", "module console", "libc src/stdio/printf.o", "target"


@dataclass
class Resolution:
    modules: list[str]                              # in init/link order
    archive_members: list[str]                      # "libc src/stdio/printf.o", ...
    reasons: dict[str, Wanted] = field(default_factory=dict)   # module -> the first need that pulled it in


def resolve(app: dict[str, dict[str, list[str]]], compiled: dict[str, CompiledModule],
            archives: list[tuple[str, dict[str, dict[str, list[str]]]]], required: tuple[str, ...], provided: set[str],
            order, picks: tuple[str, ...] = (), entry: str | None = None,
            call_sites: Callable[[str, str], list[str]] | None = None) -> Resolution:
    """app: object name -> symbols (elfsyms.object_symbols); archives: (name, member index) in link order, e.g.
    the libc then the compiler runtime; required: the target's modules; picks: the target's choices among
    modules that define the same symbols; provided: symbols the linker script or
    generated code define; order: function giving the init order of a set of module names; entry: the symbol the
    linker script enters at; call_sites(object, symbol): where an app object refers to the symbol ("FUNCTION at
    FILE:LINE"), for errors about what the app pulled in (callsite.CallSites.describe)."""
    module_providers = defaultdict(list)
    for name, mod in compiled.items():
        for sym in mod.defined:
            module_providers[sym].append(name)
    archive_providers: dict[str, tuple[str, str]] = {}
    for archive, index in archives:
        for member, syms in index.items():
            for sym in syms["defined"]:
                archive_providers.setdefault(sym, (archive, member))
    indexes = dict(archives)

    defined: dict[str, str] = {s: "linker script" for s in provided}
    for obj, syms in app.items():
        for sym in syms["defined"]:
            defined.setdefault(sym, f"app {obj}")
    modules: list[str] = []
    members: list[str] = []
    reasons: dict[str, Wanted] = {}
    pulled_by: dict[str, Wanted] = {}       # "libc src/x.o", "module net" -> the need that brought it in
    worklist: list[Wanted] = []
    unresolved: list[Wanted] = []

    def take_module(name: str, why: Wanted) -> None:
        if name in reasons:
            return
        if name not in compiled:
            raise ResolveError(f"module '{name}' ({why.by}) has no sources for this target")
        reasons[name] = why
        pulled_by[f"module {name}"] = why
        modules.append(name)
        mod = compiled[name]
        for sym in mod.defined:
            defined.setdefault(sym, f"module {name}")
        worklist.extend(Wanted(s, f"module {name}") for s in sorted(mod.undefined))
        for dep in mod.module.depends:
            take_module(dep, Wanted(f"depends = [{dep!r}]", f"module {name}"))

    for name in required:
        take_module(name, Wanted("(always linked)", "target"))
    if entry:
        worklist.append(Wanted(entry, "the linker script (ENTRY)"))
    for obj, syms in app.items():
        worklist.extend(Wanted(s, f"app {obj}") for s in syms["undefined"])

    while worklist:
        want = worklist.pop(0)
        if want.symbol in defined:
            continue
        if want.symbol.startswith(CANCEL_POINT_PREFIX):
            defined[want.symbol] = "the link"
            worklist.append(Wanted(SYSCALL_PREFIX + want.symbol.removeprefix(CANCEL_POINT_PREFIX), want.by))
            continue
        providers = module_providers.get(want.symbol, [])
        if len(providers) > 1:
            # A weak definition is the default (mem's mmap): the module with the strong one (demand) joins for its
            # own reasons, and then the linker takes its definition.
            picked = [p for p in providers if want.symbol in compiled[p].defaults]
            if len(picked) != 1:
                picked = [p for p in providers if p in required or p in picks]
            if len(picked) != 1:
                raise ResolveError(f"symbol '{want.symbol}' (needed by {want.by}) is defined by modules "
                                   f"{', '.join(sorted(providers))}",
                                   hint="the target must pick one of them in its 'modules' or 'picks' list")
            providers = picked
        if providers:
            take_module(providers[0], want)
        elif want.symbol in archive_providers:
            archive, member = archive_providers[want.symbol]
            members.append(f"{archive} {member}")
            pulled_by[f"{archive} {member}"] = want
            for sym in indexes[archive][member]["defined"]:
                defined.setdefault(sym, f"{archive} {member}")
            worklist.extend(Wanted(s, f"{archive} {member}") for s in indexes[archive][member]["undefined"])
        else:
            unresolved.append(want)
            defined[want.symbol] = "(unresolved)"

    if unresolved:
        private = {s: name for name, mod in sorted(compiled.items()) for s in mod.private}
        lines = [_unresolved(w, pulled_by, call_sites, private) for w in unresolved]
        raise ResolveError("\n".join(lines), hint=_hint(unresolved))
    _check_duplicates(modules, compiled)
    return Resolution(order(modules), members, reasons)


def reaches(app: dict[str, dict[str, list[str]]], index: dict[str, dict[str, list[str]]], targets: set[str],
            skip) -> str | None:
    """The first of targets the app's objects need, themselves or through members of an archive (index: member
    -> symbols), not counting what members for which skip(member) is true need (the libc's own look-ups); None
    when they need none."""
    providers: dict[str, str] = {}
    for member, syms in index.items():
        for sym in syms["defined"]:
            providers.setdefault(sym, member)
    seen: set[str] = set()
    worklist = [sym for syms in app.values() for sym in syms["undefined"]]
    while worklist:
        sym = worklist.pop()
        if sym in targets:
            return sym
        member = providers.get(sym)
        if member and member not in seen and not skip(member):
            seen.add(member)
            worklist.extend(index[member]["undefined"])
    return None


def _unresolved(want: Wanted, pulled_by: dict[str, Wanted], call_sites, private: dict[str, str]) -> str:
    """The line for a symbol nothing provides (or a module keeps private: private maps such symbols to their
    module); when the app's own call brought in what needs it, that call: "... needed by libc
    src/process/posix_spawn.o, which the app needs for posix_spawn, called in main at main.c:12: ..." (the chain
    back through the libc members and modules that pulled each other in)."""
    chain = [want]
    while not chain[-1].by.startswith("app ") and chain[-1].by in pulled_by and len(chain) <= len(pulled_by):
        chain.append(pulled_by[chain[-1].by])
    line = f"undefined symbol '{want.symbol}', needed by {want.by}"
    if len(chain) > 1 and chain[-1].by.startswith("app "):
        call = chain[-1]
        via = [w.symbol for w in reversed(chain[1:-1])]
        line += f", which the app needs for {call.symbol}" + (f" (via {', '.join(via)})" if via else "")
        places = call_sites(call.by.removeprefix("app "), call.symbol) if call_sites else []
        line += f", called in {'; in '.join(places)}" if places else f", called in {call.by.removeprefix('app ')}"
    if want.symbol in private:
        return line + f": module '{private[want.symbol]}' keeps it private (no public header declares it)"
    return line + ": no library-OS module or libc function provides it"


def _hint(unresolved: list[Wanted]) -> str:
    if any(w.by.startswith("app") for w in unresolved):
        return "check the spelling, or add the source file that defines it to 'sources' in uniforge.toml"
    return "this feature of the libc needs a library-OS service that is not implemented yet"


def _check_duplicates(modules: list[str], compiled: dict[str, CompiledModule]) -> None:
    owner: dict[str, str] = {}
    for name in modules:
        for sym in compiled[name].defined - compiled[name].defaults:      # strong definitions: at most one each
            if sym in owner:
                raise ResolveError(f"symbol '{sym}' is defined by both module '{owner[sym]}' and module '{name}'")
            owner[sym] = name
