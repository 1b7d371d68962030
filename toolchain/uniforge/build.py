"""The build pipeline: manifest -> target -> compile app -> resolve modules -> compile modules -> generate -> link ->
post-process. Each stage is a function of its own module; this one runs them in order and records what happened."""
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, deploy, embedtree, image, link, modules, musl, runtime
from .callsite import CallSites
from .compiler import OLD_C_WARNINGS, CompileJob, Toolchain
from .elfsyms import object_symbols
from .generate import INIT_TABLE_SYMBOLS, linker_script_symbols, render
from .manifest import Manifest
from .paths import libos_dir
from .resolve import Wanted, resolve
from .targets import Target

APP_CFLAGS = ("-O2", *OLD_C_WARNINGS)
LIBOS_CFLAGS = ("-std=c11", "-ffreestanding", "-D_GNU_SOURCE", "-O2", "-fno-stack-protector", "-Wall", "-Wextra", "-Werror")
MANIFEST_RESERVE = 64       # bytes per module kept free in the manifest for the sizes known only after the link


@dataclass
class BuildResult:
    image: Path                     # stripped: what boots
    debug_image: Path               # same code with symbols and DWARF: backtraces and inspect
    raw_image: Path | None          # the same bytes as a flat file, for boot protocols that load one (zImage)
    manifest: dict
    reasons: dict[str, str]         # module -> why it is linked
    deployment: list[Path]          # files to deploy it with (Xen: the xl config, a dom0less fragment)
    timings: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict:
        return {"image": str(self.image), "debug_image": str(self.debug_image),
                "raw_image": str(self.raw_image) if self.raw_image else None,
                "deployment": [str(p) for p in self.deployment],
                "image_bytes": self.image.stat().st_size, "manifest": self.manifest, "why": self.reasons,
                "seconds": {k: round(v, 3) for k, v in self.timings.items()}}


def build(app: Manifest, target: Target, *, debug: bool | None = None, out_dir: Path | None = None) -> BuildResult:
    debug = app.debug if debug is None else debug
    out_dir = out_dir or app.root / "build"
    work = out_dir / ".work" / target.name
    work.mkdir(parents=True, exist_ok=True)
    clock = _Clock()
    toolchain = Toolchain(target.compiler["target"], target.compiler.get("cpu"))
    hosted = Toolchain(target.compiler["app_target"], target.compiler.get("cpu"), hosted=True)
    target_cflags = target.compiler.get("cflags", [])
    headers = musl.headers(target.libc["arch"])

    # The library OS for this target: every module that builds here, so the libc knows which syscalls exist.
    available = modules.load_all()
    libos_args = toolchain.compile_args(
        include_dirs=modules.include_dirs(available), system_include_dirs=[headers],
        defines=["UF_DEBUG"] if debug else [], prefix_map=[(libos_dir(), "libos"), (headers, musl.HEADERS_NAME)],
        flags=[*LIBOS_CFLAGS, *target_cflags, *target.compiler.get("libos_cflags", [])])
    compiled = modules.compile_for_target(available, toolchain, target.arch, target.platform, libos_args)
    syscalls = sorted({s.removeprefix("uf_sys_") for m in compiled.values() for s in m.defined
                       if s.startswith("uf_sys_")} - {"enosys"})
    clock.lap("library OS")
    libc = musl.build(hosted, target.libc["arch"], target.arch, target_cflags, syscalls)
    compiler_rt, compiler_rt_index = runtime.build(toolchain)
    clock.lap("libc")

    # Sources outside the app's folder are named relative to it, in DWARF too (../lib/x.c).
    outside = sorted({src.parent for src in app.sources if not src.is_relative_to(app.root)})
    app_args = hosted.compile_args(include_dirs=app.include_dirs, system_include_dirs=[headers],
                                   prefix_map=[(app.root, "."), *((d, app.source_name(d)) for d in outside),
                                               (headers, musl.HEADERS_NAME)],
                                   flags=[*APP_CFLAGS, *hosted.stack_protector_args(), *target_cflags, *app.cflags])
    app_jobs = {app.source_name(src): CompileJob(src, work / "app" / _object_name(app.source_name(src)),
                                                 tuple(app_args)) for src in app.sources}
    hosted.compile_all(list(app_jobs.values()))
    app_symbols = {name: object_symbols(job.output) for name, job in app_jobs.items()}
    clock.lap("app")

    script = work / "image.ld"
    script.write_text(render(target.linker_script, app_name=app.name,
                             position_independent="-pie" in target.compiler.get("ldflags", [])))
    provided = linker_script_symbols(script.read_text()) | set(INIT_TABLE_SYMBOLS)
    tree_objects = _embedded_tree(toolchain, work, app)
    if tree_objects:
        provided |= set(EMBEDDED_TREE_SYMBOLS)
    archives = [("libc", libc.index), ("compiler-rt", compiler_rt_index)]

    call_sites = CallSites(toolchain, {name: job.output for name, job in app_jobs.items()}, work)

    def resolve_with(extra: tuple[str, ...]):
        return resolve(app_symbols, compiled, archives, (*target.modules, *extra), provided,
                       lambda names: modules.init_order(available, names), target.picks, call_sites.describe)
    resolution = resolve_with(())
    file_systems = _file_systems(app, resolution.modules, compiled)
    if file_systems:
        first_reasons = resolution.reasons
        resolution = resolve_with(tuple(file_systems))
        resolution.reasons.update({**first_reasons, **file_systems})
    chosen = [compiled[name] for name in resolution.modules]
    clock.lap("resolve")

    manifest = {
        "uniforge": __version__, "app": app.name, "target": target.name, "arch": target.arch,
        "platform": target.platform, "boot": target.boot, "compiler": toolchain.version,
        "libc": f"musl {musl.VERSION}",
        "modules": {m.module.name: {"version": m.module.version, "summary": m.module.summary} for m in chosen},
        "config": {"memory": app.memory or target.qemu.get("memory"), "cmdline": app.cmdline, "debug": debug},
        "sources": {name: hashlib.sha256((app.root / name).read_bytes()).hexdigest() for name in app_symbols},
    }
    names = musl.syscall_names(headers) if debug else []
    generated = _generate(toolchain, work, app, target, chosen, manifest, libos_args, names)
    clock.lap("generate")

    image_path = out_dir / f"{app.name}.{target.name}"
    debug_path = out_dir / f"{app.name}.{target.name}.dbg"
    map_file = work / "image.map"
    generated += tree_objects
    objects = [job.output for job in app_jobs.values()] + generated + [o for m in chosen for o in m.objects]
    link.link(toolchain, link.LinkInputs(script, objects, [libc.archive, compiler_rt]), debug_path, image_path, map_file,
              target.compiler.get("ldflags", []))
    clock.lap("link")

    owners = {str(o): m.module.name for m in chosen for o in m.objects}
    owners.update({str(job.output): "app" for job in app_jobs.values()})
    owners.update({str(o): "generated" for o in generated})

    def owner_of(path: str) -> str:
        if path.startswith(str(libc.archive)):
            return "libc"
        if path.startswith(str(compiler_rt)):
            return "compiler-rt"
        # <internal>: constants and strings the linker merged across objects.
        return owners.get(path, "merged" if path == "<internal>" else "other")

    loaded, nobits = image.loaded_sections(debug_path)
    manifest["bytes"] = link.bytes_by_owner(map_file, owner_of, loaded, nobits)
    for path in (image_path, debug_path):
        image.rewrite(path, manifest)
    raw_path = image.package(image_path, target.boot)
    deployment = (deploy.write(target, app.name, image_path, raw_path or image_path,
                               app.memory or target.qemu["memory"]) if target.platform == "xen" else [])
    clock.lap("post-process")
    reasons = {name: f"{why.symbol} (needed by {why.by})" for name, why in resolution.reasons.items()}
    return BuildResult(image_path, debug_path, raw_path, manifest, reasons, deployment, clock.laps)


def _object_name(source_name: str) -> Path:
    """Where a source's object goes below the work folder's app/: its name, a ".." in it spelled "..up" so that
    objects of sources outside the app's folder stay below app/ too."""
    return Path(*("..up" if part == ".." else part for part in Path(source_name).parts)).with_suffix(".o")


EMBEDDED_TREE_SYMBOLS = ("uf_embedded_tree", "uf_embedded_tree_size", "uf_embedded_tree_mount")


def _embedded_tree(toolchain: Toolchain, work: Path, app: Manifest) -> list[Path]:
    """The manifest's `files` folder packed (embedtree.py) and wrapped in an object, or nothing."""
    if app.files is None:
        return []
    blob = work / "embedded_tree.bin"
    blob.write_bytes(embedtree.pack(app.files.dir))
    source = work / "embedded_tree.S"
    source.write_text(render("embedded_tree.S.j2", path=blob, size=blob.stat().st_size, mount=app.files.mount))
    job = CompileJob(source, work / "embedded_tree.o", tuple(toolchain.target_args()))
    toolchain.compile_all([job])
    return [job.output]


def _file_systems(app: Manifest, linked: list[str], compiled) -> dict[str, Wanted]:
    """File systems an app that uses files gets besides the VFS (which its calls pulled in): its embedded tree,
    and FAT for disks unless the manifest says `disks = false` (the default when it has a tree) or the target has
    no block driver."""
    if "vfs" not in linked:
        return {}
    wanted = {}
    if app.files is not None:
        wanted["embedfs"] = Wanted(f"files = {app.source_name(app.files.dir)!r}", "uniforge.toml")
    has_block_driver = any("uf_blkdev_get" in m.defined for m in compiled.values())
    if app.disks and has_block_driver and "fat" in compiled:
        wanted["fat"] = Wanted("disks = true (the default for an app that uses files)", "uniforge.toml")
    return wanted


def _generate(toolchain: Toolchain, work: Path, app: Manifest, target: Target, chosen, manifest: dict,
              libos_args: list[str], syscall_names: list[str]) -> list[Path]:
    """The init table (from the module DAG) and the manifest section, compiled."""
    init_c = work / "init.c"
    init_c.write_text(render("init.c.j2", app_name=app.name, target=target.name, cmdline=app.cmdline,
                             modules=[m.module for m in chosen], syscall_names=syscall_names))
    manifest_bin = work / "manifest.bin"
    manifest_bin.write_bytes(image.encode(manifest, MANIFEST_RESERVE * (len(chosen) + 4)))
    manifest_s = work / "manifest.S"
    manifest_s.write_text(render("manifest.S.j2", path=manifest_bin))
    init_args = (*libos_args, f"-ffile-prefix-map={work}=build")
    jobs = [CompileJob(init_c, work / "init.o", init_args),
            CompileJob(manifest_s, work / "manifest.o", tuple(toolchain.target_args()))]
    toolchain.compile_all(jobs)
    return [job.output for job in jobs]


class _Clock:
    def __init__(self):
        self.laps: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = now - self._last
        self._last = now
