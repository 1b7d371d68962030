"""Library-OS modules: libos/<name>/module.toml plus sources. Compiled per target and cached; what a module exports
is read from its objects, never written by hand."""
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..core import cache, tomlfile
from ..core.errors import ModuleError
from ..core.paths import libos_dir
from .manifest import Manifest
from .compiler import CompileJob, Toolchain
from .elfsyms import object_symbols

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
    # A module that nobody calls by name but that completes another joins the image beside module `linked_with`
    # when that one is linked, where everything it needs can be had on the target (FAT only where a block device
    # is), and, where they are given: when one of uniforge.toml's keys `when` is set (a file system for the
    # manifest's `files`), and when the app's own code reaches `app_uses` through the libc functions it calls, not
    # counting the libc's look-ups in /etc (getpwnam): a list of symbols, or true for those of `linked_with`.
    linked_with: str | None = None
    when: tuple[str, ...] = field(default=(), metadata=tomlfile.toml_types(str, list))
    app_uses: bool | tuple[str, ...] = False

    def sources_for(self, arch: str, platform: str) -> list[Path]:
        selectors = ("all", arch, platform, f"{arch}-{platform}")
        return [self.folder / f for key in selectors for f in self.sources.get(key, ())]


@dataclass(frozen=True)
class CompiledModule:
    module: Module
    objects: tuple[Path, ...]
    defined: frozenset[str]
    undefined: frozenset[str]
    cached: bool = False                    # its objects came from the cache


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


def compile_for_target(modules: dict[str, Module], toolchain: Toolchain, arch: str, platform: str,
                       args: list[str]) -> dict[str, CompiledModule]:
    """Every module that has sources for this arch and platform, compiled (cached by content and flags)."""
    headers = [p for d in include_dirs(modules) for p in d.rglob("*.h")]
    headers_key = cache.hash_files(headers, libos_dir())
    compiled = {}
    for name, module in modules.items():
        sources = module.sources_for(arch, platform)
        if not sources:
            continue                    # not available on this arch/platform
        own = [p for p in module.folder.rglob("*") if p.is_file()]
        key = cache.digest(toolchain.version, arch, platform, " ".join(args), headers_key,
                           cache.hash_files(own, module.folder))
        compiled[name] = _compile_module(module, sources, toolchain, args, key)
    return compiled


def _compile_module(module: Module, sources: list[Path], toolchain: Toolchain, args: list[str],
                    key: str) -> CompiledModule:
    def build(tmp: Path) -> None:
        jobs = [CompileJob(src, tmp / src.relative_to(module.folder).with_suffix(".o"), tuple(args))
                for src in sources]
        toolchain.compile_all(jobs)
        symbols = [object_symbols(job.output) for job in jobs]
        (tmp / "symbols.json").write_text(json.dumps(
            {"objects": [str(job.output.relative_to(tmp)) for job in jobs],
             "symbols": symbols}, sort_keys=True))

    folder, cached = cache.entry(f"module-{module.name}", key, build)
    info = json.loads((folder / "symbols.json").read_text())
    defined = {s for sym in info["symbols"] for s in sym["defined"]}
    undefined = {s for sym in info["symbols"] for s in sym["undefined"]} - defined
    return CompiledModule(module, tuple(folder / o for o in info["objects"]), frozenset(defined),
                          frozenset(undefined), cached)
