"""Library-OS modules: libos/<name>/module.toml plus sources. Compiled per target and cached; what a module exports
is read from its objects, never written by hand."""
import json
from dataclasses import dataclass
from pathlib import Path

from . import cache, tomlfile
from .compiler import CompileJob, Toolchain
from .elfsyms import object_symbols
from .errors import ModuleError
from .paths import libos_dir

KEYS = {"name": str, "summary": str, "version": str, "depends": list, "init": str, "sources": dict,
        "linked_with": list}
SOURCE_SUFFIXES = (".c", ".S", ".s")


@dataclass(frozen=True)
class Module:
    name: str
    summary: str
    version: str
    depends: tuple[str, ...]
    init: str | None
    sources: dict[str, tuple[str, ...]]     # selector (all, arch, platform, arch-platform) -> files
    folder: Path
    # Linked whenever an image needs one of these symbols (from whichever module defines it): a service that
    # completes another without being called by name (module stdin gives read/readv the console's input).
    linked_with: tuple[str, ...] = ()

    def sources_for(self, arch: str, platform: str) -> list[Path]:
        selectors = ("all", arch, platform, f"{arch}-{platform}")
        return [self.folder / f for key in selectors for f in self.sources.get(key, ())]


@dataclass(frozen=True)
class CompiledModule:
    module: Module
    objects: tuple[Path, ...]
    defined: frozenset[str]
    undefined: frozenset[str]


def load_all() -> dict[str, Module]:
    """Every module under libos/, checked: known keys, existing sources, depends naming modules, no cycles."""
    found = {}
    for toml in sorted(libos_dir().glob("*/module.toml")):
        module = _load(toml)
        found[module.name] = module
    for module in found.values():
        for dep in module.depends:
            if dep not in found:
                raise ModuleError(f"{module.folder / 'module.toml'}: key 'depends': no module named '{dep}'")
    init_order(found, list(found))      # raises on a cycle
    return found


def _load(toml: Path) -> Module:
    where = str(toml)
    data = tomlfile.load(toml, ModuleError)
    tomlfile.check_keys(data, KEYS, where, ModuleError, required=("name", "summary", "version", "sources"))
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
    return Module(name=data["name"], summary=data["summary"], version=data["version"],
                  depends=tuple(data.get("depends", [])), init=data.get("init"), sources=sources, folder=toml.parent,
                  linked_with=tuple(data.get("linked_with", [])))


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

    folder, _ = cache.entry(f"module-{module.name}", key, build)
    info = json.loads((folder / "symbols.json").read_text())
    defined = {s for sym in info["symbols"] for s in sym["defined"]}
    undefined = {s for sym in info["symbols"] for s in sym["undefined"]} - defined
    return CompiledModule(module, tuple(folder / o for o in info["objects"]), frozenset(defined),
                          frozenset(undefined))
