"""Library-OS modules: libos/<name>/module.toml plus sources. Compiled per target and cached; what a module exports
is read from its objects, never written by hand.

The boundary between modules is enforced at link time: a module's objects are pre-linked into one relocatable object
(ld.lld -r) in which only its contract stays global: the symbols a public header (`include/uf/*.h`) declares, its
syscalls (`uf_sys_*`) and its init and exit functions. Everything else becomes local (localize.py), so no other object can
bind to it: the resolver sees contracts only, and a module that calls another's private function fails the build.
"""
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core import cache, tomlfile
from ..core.errors import ModuleError
from ..core.paths import libos_dir
from .manifest import Manifest
from .compiler import CompileJob, Toolchain
from .elfsyms import object_symbols
from .localize import localize

SOURCE_SUFFIXES = (".c", ".S", ".s")


@dataclass(frozen=True)
class Module:
    """A module as its module.toml says (its keys are these fields)."""
    name: str
    summary: str
    version: str
    sources: dict[str, tuple[str, ...]]     # selector (all, arch, platform, arch-platform) -> files
    folder: Path = field(metadata=tomlfile.NOT_A_KEY)
    depends: tuple[str, ...] = ()
    init: str | None = None
    exit: str | None = None                 # void fn(void) at the process's exit, before the machine ends
    # A module that nobody calls by name but that completes another joins the image beside module `linked_with`
    # when that one is linked, where everything it needs can be had on the target (FAT only where a block device
    # is), and, where they are given: when one of uniforge.toml's keys `when` is set (a file system for the
    # manifest's `files`), and when the app's own code reaches `app_uses` through the libc functions it calls, not
    # counting the libc's look-ups in /etc (getpwnam): a list of symbols, or true for those of `linked_with`.
    linked_with: str | None = None
    when: tuple[str, ...] = field(default=(), metadata=tomlfile.toml_types(str, list))
    app_uses: bool | tuple[str, ...] = False
    # The descriptor table an image with this module needs at least: the image's is the largest its modules ask
    # for (module fd's own size; Linux's default RLIMIT_NOFILE, 1024, where servers are: sockets).
    descriptors: int = 0

    def sources_for(self, arch: str, platform: str) -> list[Path]:
        selectors = ("all", arch, platform, f"{arch}-{platform}")
        return [self.folder / f for key in selectors for f in self.sources.get(key, ())]


@dataclass(frozen=True)
class CompiledModule:
    module: Module
    object: Path                            # the module pre-linked: its contract global, everything else local
    defined: frozenset[str]                 # its contract: what other objects can bind to
    undefined: frozenset[str]               # what it needs (strong references)
    private: frozenset[str] = frozenset()   # global in its sources, local in its object
    weak: frozenset[str] = frozenset()      # weak references: they pull nothing in, but name what they want
    defaults: frozenset[str] = frozenset()  # defined weakly: another linked module's strong definition replaces them
    cached: bool = False                    # its object came from the cache


def load_all() -> dict[str, Module]:
    """Every module under libos/, checked: known keys, existing sources, depends naming modules, no cycles."""
    found = {}
    for toml in sorted(libos_dir().glob("*/module.toml")):
        module = _load(toml)
        found[module.name] = module
    for module in found.values():
        for key, names in (("depends", module.depends), ("linked_with", [module.linked_with or module.name])):
            for dep in names:
                if dep not in found:
                    raise ModuleError(f"{module.folder / 'module.toml'}: key '{key}': no module named '{dep}'")
    init_order(found, list(found))      # raises on a cycle
    return found


def _load(toml: Path) -> Module:
    where = str(toml)
    data = tomlfile.load_checked(toml, Module, ModuleError)
    if data["name"] != toml.parent.name:
        raise ModuleError(f"{where}: key 'name': '{data['name']}' must match its folder '{toml.parent.name}'")
    sources = {}
    for key, files in data["sources"].items():
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise ModuleError(f"{where}: key 'sources.{key}' must be a list of file names")
        for f in files:
            if not (toml.parent / f).is_file() or not f.endswith(SOURCE_SUFFIXES):
                raise ModuleError(f"{where}: key 'sources.{key}': '{f}' is not a .c/.S/.s file in {toml.parent}")
        sources[key] = tuple(files)
    when = data.get("when", ())
    when = (when,) if isinstance(when, str) else tuple(when)
    if (data.get("linked_with") is None) == bool(when or data.get("app_uses")):
        raise ModuleError(f"{where}: key 'linked_with' goes with 'when' or 'app_uses' (they say when the module "
                          f"joins it)")
    manifest_keys = tomlfile.keys(Manifest)
    for key in when:
        if key not in manifest_keys:
            raise ModuleError(f"{where}: key 'when': '{key}' is not a key of uniforge.toml "
                              f"({', '.join(manifest_keys)})")
    app_uses = data.get("app_uses", False)
    return Module(**{**data, "depends": tuple(data.get("depends", ())), "sources": sources, "folder": toml.parent,
                     "when": when, "app_uses": tuple(app_uses) if isinstance(app_uses, list) else app_uses})


def init_order(modules: dict[str, Module], names: list[str]) -> list[str]:
    """Dependencies first (the `depends` DAG), ties broken by name: the init and link order."""
    order, state = [], {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ModuleError(f"module dependency cycle: {' -> '.join(path + [name])}")
        state[name] = "visiting"
        for dep in sorted(modules[name].depends):
            visit(dep, path + [name])
        state[name] = "done"
        order.append(name)

    for name in sorted(names):
        visit(name, [])
    return order


def include_dirs(modules: dict[str, Module]) -> list[Path]:
    return [m.folder / "include" for m in modules.values() if (m.folder / "include").is_dir()]


def public_names(modules: dict[str, Module]) -> frozenset[str]:
    """Every name the modules' public headers use, comments and strings aside. A module's global symbol is part of
    its contract when one of them declares it: the module's own header, or the seam it implements (uart's
    uf_console_write is declared in uf/console.h, a virtio transport's functions in uf/virtio.h). A name an inline
    function or a macro there uses is public too: other modules' code reaches it through them."""
    names = set()
    for header in sorted(p for d in include_dirs(modules) for p in d.rglob("*.h")):
        names |= set(_IDENTIFIER.findall(_COMMENT_OR_STRING.sub(" ", header.read_text())))
    return frozenset(names)


_COMMENT_OR_STRING = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
_IDENTIFIER = re.compile(r"\b[A-Za-z_]\w*")


def compile_for_target(modules: dict[str, Module], toolchain: Toolchain, arch: str, platform: str,
                       args: list[str]) -> dict[str, CompiledModule]:
    """Every module that has sources for this arch and platform, compiled and pre-linked (cached by content, flags
    and the code of the localizer and the symbol reader), checked: no module refers to another's private symbol."""
    headers = [p for d in include_dirs(modules) for p in d.rglob("*.h")]
    headers_key = cache.hash_files(headers, libos_dir())
    public = public_names(modules)
    # A new localizer or symbol reader (symbols.json) makes every object anew.
    localizer = b"".join(Path(__file__).with_name(f).read_bytes() for f in ("localize.py", "elfsyms.py"))
    compiled = {}
    for name, module in modules.items():
        sources = module.sources_for(arch, platform)
        if not sources:
            continue                    # not available on this arch/platform
        own = [p for p in module.folder.rglob("*") if p.is_file()]
        key = cache.digest(toolchain.version, arch, platform, " ".join(args), headers_key,
                           cache.hash_files(own, module.folder), localizer)
        compiled[name] = _compile_module(module, sources, toolchain, args, key, public)
    check_boundary(compiled)
    return compiled


def check_boundary(compiled: dict[str, CompiledModule]) -> None:
    """A module that refers to another's private symbol (strongly or weakly: a weak reference would quietly stay
    NULL) is an error naming both and the symbol."""
    public = {s for m in compiled.values() for s in m.defined}
    owner = {s: name for name, m in sorted(compiled.items()) for s in m.private}
    errors = [(user, sym, owner[sym]) for user, m in sorted(compiled.items())
              for sym in sorted(m.undefined | m.weak) if sym in owner and sym not in public]
    if errors:
        raise ModuleError("\n".join(f"module '{user}' uses '{sym}', which module '{of}' keeps private (no public "
                                     f"header declares it)" for user, sym, of in errors),
                          hint="declare it in the owner's include/uf/<module>.h if other modules may call it")


def _compile_module(module: Module, sources: list[Path], toolchain: Toolchain, args: list[str], key: str,
                    public: frozenset[str]) -> CompiledModule:
    def build(tmp: Path) -> None:
        jobs = [CompileJob(src, tmp / "objects" / src.relative_to(module.folder).with_suffix(".o"), tuple(args))
                for src in sources]
        toolchain.compile_all(jobs)
        prelinked = tmp / f"{module.name}.o"
        toolchain.link(prelinked, ["-r", *(str(job.output) for job in jobs)])
        contract = {s for s in object_symbols(prelinked)["defined"]
                    if s in public or s.startswith("uf_sys_") or s in (module.init, module.exit)}
        private = localize(prelinked, contract)
        (tmp / "symbols.json").write_text(json.dumps(
            {"object": prelinked.name, "private": private, **object_symbols(prelinked)}, sort_keys=True))

    folder, cached = cache.entry(f"module-{module.name}", key, build)
    info = json.loads((folder / "symbols.json").read_text())
    return CompiledModule(module, folder / info["object"], frozenset(info["defined"]), frozenset(info["undefined"]),
                          frozenset(info["private"]), frozenset(info["weak"]), frozenset(info.get("defaults", ())),
                          cached)
