"""The build pipeline: manifest -> target -> compile app -> resolve modules -> compile modules -> generate -> link ->
post-process. Each stage is a function of its own module; this one runs them in order and records what happened."""
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.version import __version__
from ..core import cache
from ..core.errors import ManifestError
from ..core.paths import libos_dir
from . import archives, cxx, deploy, embedtree, image, link, linkrecord, modules, musl, runtime
from .callsite import CallSites
from .compiler import ERRNO_SETTING_ALLOCATORS, OLD_C_WARNINGS, CompileJob, Toolchain
from .elfsyms import object_symbols
from .generate import linker_script_entry, linker_script_symbols, render
from .manifest import Manifest
from .resolve import CANCEL_POINT_PREFIX, SYSCALL_PREFIX, Wanted, reaches, resolve
from .targets import Target

APP_CFLAGS = ("-O2", *OLD_C_WARNINGS, *ERRNO_SETTING_ALLOCATORS)
# The library OS allocates with the libc's own allocator, never with an app's malloc, as a kernel never calls its
# processes' allocators: an app may replace malloc with one that returns unaligned blocks (ARM's strd then faults
# in library-OS code) or that calls mmap holding its own lock (which the library OS would then take again).
LIBOS_ALLOCATOR = ("-Dmalloc=__libc_malloc", "-Dcalloc=__libc_calloc", "-Drealloc=__libc_realloc", "-Dfree=__libc_free")
LIBOS_CFLAGS = ("-std=c11", "-ffreestanding", "-D_GNU_SOURCE", "-O2", "-fno-stack-protector", "-Wall", "-Wextra", "-Werror",
                *LIBOS_ALLOCATOR)
MANIFEST_RESERVE = 64       # bytes per module kept free in the manifest for the sizes known only after the link
# An image that links module thread gets every module in its threaded variant (uf/thread.h).
THREAD_MODULE = "thread"
THREADED_DEFINE = "UF_THREADS"
# The libc's cancellation points act on a cancellation only in an image that can have one (pthread_cancel).
CANCEL_SYMBOL = "pthread_cancel"
CANCEL_CALL = "__uf_syscall_cp"             # libos/libc/src/thread/uf_syscall_cp.c


@dataclass
class BuildResult:
    image: Path                     # stripped: what boots
    debug_image: Path               # same code with symbols and DWARF: backtraces and inspect
    raw_image: Path | None          # the same bytes as a flat file, for boot protocols that load one (zImage)
    manifest: dict
    reasons: dict[str, str]         # module -> why it is linked
    deployment: list[Path]          # files to deploy it with: the target's `deploy` (e.g. an xl config)
    timings: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)      # stage -> whether it came whole from the cache

    @property
    def artifacts(self) -> list[tuple[str, Path]]:
        """Every file the build wrote, with its kind: the image, its debug twin, its raw form, deployment files."""
        found = [("image", self.image), ("debug", self.debug_image)]
        if self.raw_image:
            found.append(("raw", self.raw_image))
        return found + [("deployment", path) for path in self.deployment]


def build(app: Manifest, target: Target, *, debug: bool | None = None, out_dir: Path | None = None) -> BuildResult:
    debug = app.debug if debug is None else debug
    out_dir = out_dir or app.root / "build"
    work = out_dir / ".work" / target.name
    work.mkdir(parents=True, exist_ok=True)
    clock = _Clock()
    toolchain = Toolchain.for_target(target)
    hosted = Toolchain.for_target(target, hosted=True)      # the app's and the libc's

    # The library OS for this target: every module that builds here, so the libc knows which syscalls exist.
    libos = library_os(target, toolchain, debug=debug)
    available, compiled, libos_args, headers = libos.available, libos.compiled, libos.args, libos.headers
    clock.lap("library OS")
    libc = app_libc(target, hosted, libos)
    compiler_rt, compiler_rt_index, compiler_rt_cached = runtime.build(toolchain)
    # What the project's own build made (link_from, objects, archives), as built for this target's compile ABI.
    built = app_inputs(app, abi(hosted))
    built_symbols = {name: object_symbols(path) for name, path in built.objects.items()}
    built_archives = [(name, archives.index(path)) for name, path in built.archives.items()]
    clock.lap("libc")
    cached = {"library OS": all(m.cached for m in compiled.values()), "libc": libc.cached,
              "compiler-rt": compiler_rt_cached}

    # Sources outside the app's folder are named relative to it, in DWARF too (../lib/x.c).
    outside = sorted({src.parent for src in app.sources if not src.is_relative_to(app.root)})
    prefix_map = [(app.root, "."), *((d, app.source_name(d)) for d in outside)]
    app_args = app_compile_args(hosted, headers, include_dirs=app.include_dirs, cflags=app.cflags,
                                prefix_map=prefix_map)
    # The C++ runtime only for an app with C++: sources, or objects and archives of its own build that call into it.
    cxx_sources = [src for src in app.sources if cxx.is_source(src)]
    cxx_runtime = None
    cxx_args = app_args
    if cxx_sources or any(cxx.calls_runtime(symbols["undefined"]) for symbols in
                          [*built_symbols.values(), *(m for _, index in built_archives for m in index.values())]):
        cxx_args = app_compile_args(hosted, headers, include_dirs=app.include_dirs, cflags=app.cflags,
                                    prefix_map=prefix_map, cxxflags=app.cxxflags)
        cxx_runtime = cxx.build(hosted, headers, musl.HEADERS_NAME)
        cached["c++ runtime"] = cxx_runtime.cached
    app_jobs = {app.source_name(src): CompileJob(src, work / "app" / _object_name(app.source_name(src)),
                                                 tuple(cxx_args if cxx.is_source(src) else app_args))
                for src in app.sources}
    hosted.compile_all(list(app_jobs.values()))
    app_objects = {**{name: job.output for name, job in app_jobs.items()}, **built.objects}
    app_symbols = {**{name: object_symbols(job.output) for name, job in app_jobs.items()}, **built_symbols}
    app_archives = built_archives
    clock.lap("app")

    script = work / "image.ld"
    script.write_text(render(target.linker_script, app_name=app.name, cxx=cxx_runtime is not None,
                             position_independent=toolchain.position_independent))
    tree_objects = []
    if app.files is not None:
        tree_objects += _embedded_tree(toolchain, work, app.files.dir, "uf_embedded_tree", app.files.mount)
    if app.etc is not None:
        tree_objects += _embedded_tree(toolchain, work, app.etc, "uf_etc_tree", None)
    # What the linker script and the generated code define, read from them: present before they are linked.
    provided = (linker_script_symbols(script.read_text()) | _init_table_symbols(toolchain, target, libos_args)
                | {s for o in tree_objects for s in object_symbols(o)["defined"]} | link.LINKER_DEFINED)
    linked_archives = [*app_archives, *(cxx_runtime.indexes if cxx_runtime else []), ("libc", libc.index),
                       ("compiler-rt", compiler_rt_index)]
    entry = linker_script_entry(script.read_text())

    call_sites = CallSites(toolchain, app_objects, work)

    # The app's own archives count as the app's code: a member that opens files wants a disk as the app would;
    # and through the C++ runtime's sections too: std::cin reads the console with the libc's stdin.
    reachable = {**{f"{name}({member})": syms for name, index in app_archives for member, syms in index.items()},
                 **{member: syms for _, index in (cxx_runtime.indexes if cxx_runtime else []) for member, syms in
                    index.items()},
                 **libc.index}

    def resolve_image(compiled, roots: tuple[str, ...] = ()):
        """The modules and libc members the app (and `roots`, what generated code needs) links, with the modules
        that join those (module.toml's linked_with)."""
        wanted = {**app_symbols, **({"(generated)": {"defined": [], "undefined": list(roots)}} if roots else {})}

        def resolve_with(extra: tuple[str, ...]):
            return resolve(wanted, compiled, linked_archives, (*target.modules, *extra), provided,
                           lambda names: modules.init_order(available, names), target.picks, entry,
                           call_sites.describe)
        resolution = resolve_with(())
        providable = provided | {s for m in compiled.values() for s in m.defined} | {
            s for _, index in linked_archives for member in index.values() for s in member["defined"]}

        def app_reaches(symbols: set[str]) -> str | None:
            return reaches(app_symbols, reachable, symbols,
                           lambda member: member.startswith(musl.SYSTEM_FILE_MEMBERS))
        joining = _joining(app, resolution.modules, compiled, providable, app_reaches)
        if joining:
            first_reasons = resolution.reasons
            resolution = resolve_with(tuple(joining))
            resolution.reasons.update({**first_reasons, **joining})
        return resolution
    resolution = resolve_image(compiled)
    threaded = THREAD_MODULE in resolution.modules
    if threaded:
        compiled = library_os(target, toolchain, debug=debug, threaded=True).compiled
        resolution = resolve_image(compiled)
    cancellable = any(CANCEL_SYMBOL in libc.index[m.split(" ", 1)[1]]["defined"]
                      for m in resolution.archive_members if m.startswith("libc "))
    if cancellable:
        resolution = resolve_image(compiled, (CANCEL_CALL,))
    chosen = [compiled[name] for name in resolution.modules]
    clock.lap("resolve")

    manifest = {
        "uniforge": __version__, "app": app.name, "target": target.name, "arch": target.arch,
        "platform": target.platform, "boot": target.boot, "compiler": toolchain.version,
        "libc": f"musl {musl.VERSION}",
        "modules": {m.module.name: {"version": m.module.version, "summary": m.module.summary} for m in chosen},
        "config": {"memory": app.memory or target.qemu.memory, "cmdline": app.cmdline, "debug": debug},
        "sources": {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in
                    [*((name, job.source) for name, job in app_jobs.items()), *built.objects.items(),
                     *built.archives.items()]},
    }
    names = musl.syscall_names(headers) if debug else []
    generated = _generate(toolchain, work, app, target, chosen, manifest, libos_args, names)
    calls = _syscall_calls(chosen, threaded, cancellable)
    generated += calls.objects(toolchain, work, app.name, libos_args)
    if cxx_runtime:
        generated += _optional_syscalls(toolchain, work, chosen, libos_args)
    clock.lap("generate")

    image_path = out_dir / f"{app.name}.{target.name}"
    debug_path = out_dir / f"{app.name}.{target.name}.dbg"
    map_file = work / "image.map"
    generated += tree_objects
    objects = [*app_objects.values()] + generated + [m.object for m in chosen]
    cxx_archives = cxx_runtime.archives if cxx_runtime else []
    # An image with C++ keeps its unwind tables, found through PT_GNU_EH_FRAME (.eh_frame_hdr) or PT_ARM_EXIDX.
    link.link(toolchain, link.LinkInputs(script, objects, [*built.archives.values(), *cxx_archives, libc.archive,
                                                           compiler_rt]),
              debug_path, image_path, map_file, [*toolchain.ldflags, *(["--eh-frame-hdr"] if cxx_runtime else []),
                                                     *calls.link_args(work)])
    clock.lap("link")

    owner_of = link.owner_of({**{m.object: m.module.name for m in chosen},
                              **{path: link.APP for path in app_objects.values()},
                              **{o: link.GENERATED for o in generated}},
                             {**{path: link.APP for path in built.archives.values()},
                              **{archive: link.CXX for archive in cxx_archives},
                              libc.archive: link.LIBC, compiler_rt: link.COMPILER_RT})
    loaded, nobits = image.loaded_sections(debug_path)
    manifest["bytes"] = link.bytes_by_owner(map_file, owner_of, loaded, nobits)
    for path in (image_path, debug_path):
        image.rewrite(path, manifest)
    raw_path = image.package(image_path, target.boot)
    deployment = deploy.write(target, app.name, image_path, raw_path or image_path, app.memory or target.qemu.memory,
                              set(manifest["modules"]))
    clock.lap("post-process")
    reasons = {name: f"{why.symbol} (needed by {why.by})" for name, why in resolution.reasons.items()}
    return BuildResult(image_path, debug_path, raw_path, manifest, reasons, deployment, clock.laps, cached)


def _object_name(source_name: str) -> Path:
    """Where a source's object goes below the work folder's app/: its name, a ".." in it spelled "..up" so that
    objects of sources outside the app's folder stay below app/ too."""
    return Path(*("..up" if part == ".." else part for part in Path(source_name).parts)).with_suffix(".o")


def app_compile_args(hosted: Toolchain, headers: Path, *, include_dirs=(), cflags=(), prefix_map=(),
                     cxxflags: tuple[str, ...] | None = None) -> list[str]:
    """How an app's sources are compiled (the one place: `uniforge build` and `uniforge cc` both use it): as for
    Linux with musl, musl's headers (`headers`) first, the target's flags, then the app's own `cflags`. C++ sources
    (`cxxflags` given, after cflags): libc++'s headers before musl's (it wraps <stdlib.h>, <math.h>...) and its
    configuration (cxx.config_flags, the runtime's)."""
    cxx_sources = cxxflags is not None
    return hosted.compile_args(include_dirs=include_dirs,
                               system_include_dirs=[*(cxx.app_include_dirs(hosted) if cxx_sources else []), headers],
                               prefix_map=[*prefix_map, (headers, musl.HEADERS_NAME)],
                               flags=[*(cxx.config_flags() if cxx_sources else []), *APP_CFLAGS,
                                      *hosted.stack_protector_args(), *hosted.cflags, *cflags, *(cxxflags or ())])


def abi(hosted: Toolchain) -> str:
    """What an app's objects must have been compiled for to link into this target's images, libc++'s configuration
    included (its C++ objects link only with a runtime built in the same one): targets that share it (qemu-x86_64,
    kvm-x86_64, xen-x86_64) link each other's objects."""
    return cache.digest(hosted.version, *hosted.target_args(), *hosted.cflags, *cxx.config_flags())


def implemented_syscalls(libos: "LibraryOS") -> list[str]:
    """The syscalls the library OS implements (a module defines uf_sys_NAME)."""
    return sorted({s.removeprefix("uf_sys_") for m in libos.compiled.values() for s in m.defined
                   if s.startswith("uf_sys_")} - {"enosys"})


def app_libc(target: Target, hosted: Toolchain, libos: "LibraryOS") -> musl.Libc:
    """The libc an app links: musl whose syscalls call exactly those the library OS implements."""
    return musl.build(hosted, target.libc.arch, target.arch, list(hosted.cflags), implemented_syscalls(libos))


@dataclass(frozen=True)
class AppInputs:
    """Objects and archives the project's own build made, by the name the image's manifest gives them."""
    objects: dict[str, Path]
    archives: dict[str, Path]


def app_inputs(app: Manifest, app_abi: str) -> AppInputs:
    """What the manifest's link_from (the objects and archives `uniforge cc` recorded linking that executable
    from), objects and archives name, each checked to exist."""
    objects, archives_ = {}, {}

    def name(path: Path) -> str:
        # Objects `uniforge cc` compiled straight from sources on a link line live in the cache, in a folder named
        # by their content: "cc/FOLDER/main.o", the same on every machine.
        in_cache = path.is_relative_to(linkrecord.compiled_folder())
        return f"cc/{path.parent.name}/{path.name}" if in_cache else app.source_name(path)
    if app.link_from is not None:
        record = linkrecord.read(app.link_from, app_abi, f"{app.path}: key 'link_from'")
        objects.update({name(p): p for p in record.objects})
        archives_.update({name(p): p for p in record.archives})
    for key, paths, into in (("objects", app.objects, objects), ("archives", app.archives, archives_)):
        for path in paths:
            if not path.is_file():
                raise ManifestError(f"{app.path}: key '{key}': '{app.source_name(path)}' does not exist "
                                    "(did the build commands make it?)")
            into[app.source_name(path)] = path
    return AppInputs(objects, archives_)


@dataclass(frozen=True)
class LibraryOS:
    """Every library-OS module that builds for a target, compiled with `args` (cached by content and flags)."""
    available: dict[str, modules.Module]        # all of them, also those without sources for this target
    compiled: dict[str, modules.CompiledModule]
    args: list[str]
    headers: Path                               # musl's headers for the arch, which the modules see too


def library_os(target: Target, toolchain: Toolchain, *, debug: bool = False, threaded: bool = False) -> LibraryOS:
    """`threaded`: the modules' threaded variants (UF_THREADS), for an image that links module thread."""
    headers = musl.headers(target.libc.arch)
    available = modules.load_all()
    args = toolchain.compile_args(
        include_dirs=modules.include_dirs(available), system_include_dirs=[headers],
        defines=[*(["UF_DEBUG"] if debug else []), *([THREADED_DEFINE] if threaded else [])],
        prefix_map=[(libos_dir(), "libos"), (headers, musl.HEADERS_NAME)],
        flags=[*LIBOS_CFLAGS, *toolchain.cflags, *toolchain.libos_cflags])
    compiled = modules.compile_for_target(available, toolchain, target.arch, target.platform, args)
    return LibraryOS(available, compiled, args, headers)


def _embedded_tree(toolchain: Toolchain, work: Path, folder: Path, symbol: str, mount: str | None) -> list[Path]:
    """A folder packed (embedtree.py) and wrapped in an object defining symbol (and symbol_size, symbol_mount)."""
    blob = work / f"{symbol}.bin"
    blob.write_bytes(embedtree.pack(folder))
    source = work / f"{symbol}.S"
    source.write_text(render("embedded_tree.S.j2", path=blob, size=blob.stat().st_size, symbol=symbol, mount=mount))
    # The work folder out of the object's DWARF, as for every other object: .dbg files alike wherever the app is.
    job = CompileJob(source, work / f"{symbol}.o", (*toolchain.target_args(), f"-ffile-prefix-map={work}=."))
    toolchain.compile_all([job])
    return [job.output]


def _joining(app: Manifest, linked: list[str], compiled: dict[str, modules.CompiledModule], providable: set[str],
             app_reaches) -> dict[str, Wanted]:
    """Modules that join one the resolution linked, as their module.toml says (modules.Module: linked_with, when,
    app_uses), where everything the module needs can be had on this target (FAT only where a block device is):
    a file system beside the VFS when uniforge.toml asks for it; and where the app's own code must reach symbols
    (app_reaches(symbols): the first it reaches, or None), only then: FAT for an app that opens files, not for one
    whose libc reads /etc; the console's input for an app that can read the console."""
    joining = {}
    for name, m in sorted(compiled.items()):
        mod = m.module
        if mod.linked_with not in linked or not m.undefined <= providable:
            continue
        keys = [key for key in mod.when if getattr(app, key)]
        if mod.when and not keys:
            continue
        reached = None
        if mod.app_uses:
            reached = app_reaches(set(compiled[mod.linked_with].defined if mod.app_uses is True else mod.app_uses))
            if reached is None:
                continue
        joining[name] = Wanted(f"{keys[0]} in uniforge.toml" if keys else f"{reached} in the app's code",
                               f"module {mod.linked_with}")
    return joining


def _init_table_symbols(toolchain: Toolchain, target: Target, libos_args: list[str]) -> set[str]:
    """What the generated init table defines, read from it: templates/init.c.j2 rendered without modules, compiled
    (cached by its text and flags) and its symbols read."""
    source = render("init.c.j2", app_name="", target=target.name, cmdline="", modules=[], syscall_names=[],
                    descriptors=1)

    def make(tmp: Path) -> None:
        (tmp / "init.c").write_text(source)
        toolchain.compile(CompileJob(tmp / "init.c", tmp / "init.o", tuple(libos_args)))
        (tmp / "symbols.json").write_text(json.dumps(object_symbols(tmp / "init.o")))

    folder, _ = cache.entry("init-table-symbols", cache.digest(source, *libos_args), make)
    return set(json.loads((folder / "symbols.json").read_text())["defined"])


def _generate(toolchain: Toolchain, work: Path, app: Manifest, target: Target, chosen, manifest: dict,
              libos_args: list[str], syscall_names: list[str]) -> list[Path]:
    """The init table (from the module DAG) and the manifest section, compiled."""
    init_c = work / "init.c"
    init_c.write_text(render("init.c.j2", app_name=app.name, target=target.name, cmdline=app.cmdline,
                             modules=[m.module for m in chosen], syscall_names=syscall_names,
                             descriptors=max([m.module.descriptors for m in chosen] + [1])))
    manifest_bin = work / "manifest.bin"
    manifest_bin.write_bytes(image.encode(manifest, MANIFEST_RESERVE * (len(chosen) + 4)))
    manifest_s = work / "manifest.S"
    manifest_s.write_text(render("manifest.S.j2", path=manifest_bin))
    init_args = (*libos_args, f"-ffile-prefix-map={work}=build")
    jobs = [CompileJob(init_c, work / "init.o", init_args),
            CompileJob(manifest_s, work / "manifest.o", tuple(toolchain.target_args()))]
    toolchain.compile_all(jobs)
    return [job.output for job in jobs]


@dataclass(frozen=True)
class _SyscallCalls:
    """How the app's calls reach the library OS, made at the link (templates/syscall_calls.c.j2). In a threaded
    image each uf_sys_* function is wrapped (ld --wrap) so that it runs with interrupts off: library-OS code is
    never preempted. A cancellation point's call, uf_cp_NAME (templates/syscall_arch.h.j2), is uf_sys_NAME itself
    (a PROVIDE of the linker script: unlike --defsym, it keeps nothing that is not called), unless the image links
    pthread_cancel: then a wrapper that lets a cancellation end it."""
    wrapped: tuple[str, ...]                    # uf_sys_* names with an interrupts-off wrapper
    cancel_points: tuple[str, ...]              # syscall names whose uf_cp_ call goes through the libc's check
    aliases: tuple[str, ...]                    # syscall names whose uf_cp_ call is the function itself

    def objects(self, toolchain: Toolchain, work: Path, app_name: str, libos_args: list[str]) -> list[Path]:
        if not self.wrapped and not self.cancel_points:
            return []
        source = work / "syscall_calls.c"
        source.write_text(render("syscall_calls.c.j2", app_name=app_name, wrapped=self.wrapped,
                                 cancel_points=self.cancel_points))
        job = CompileJob(source, work / "syscall_calls.o", (*libos_args, f"-ffile-prefix-map={work}=build"))
        toolchain.compile_all([job])
        return [job.output]

    def link_args(self, work: Path) -> list[str]:
        """The --wrap flags, and a second linker script with the aliases."""
        target = "__wrap_" if self.wrapped else ""
        script = work / "cancel_points.ld"
        script.write_text("".join(f"PROVIDE({CANCEL_POINT_PREFIX}{name} = {target}{SYSCALL_PREFIX}{name});\n"
                                  for name in self.aliases))
        return [f"--wrap={name}" for name in self.wrapped] + ([str(script)] if self.aliases else [])


def _syscall_calls(chosen, threaded: bool, cancellable: bool) -> _SyscallCalls:
    """chosen: the linked modules. Every syscall they implement gets its uf_cp_ name, called or not (the linker
    drops what nothing calls): the linker may take a libc member the resolver did not (a weak definition seen
    after a reference), and its cancellation points must link."""
    # A set: a strong definition (module demand's mmap) and the weak default it overrides (mem's) are one syscall.
    defined = tuple(sorted({s for m in chosen for s in m.defined if s.startswith(SYSCALL_PREFIX)}))
    implemented = tuple(s.removeprefix(SYSCALL_PREFIX) for s in defined if s != "uf_sys_enosys")
    return _SyscallCalls(defined if threaded else (), implemented if cancellable else (),
                         () if cancellable else implemented)


def _optional_syscalls(toolchain: Toolchain, work: Path, chosen, libos_args: list[str]) -> list[Path]:
    """templates/optional_syscalls.c.j2 for the optional syscalls no chosen module implements, compiled."""
    linked = {s for m in chosen for s in m.defined}
    names = sorted({name for names in musl.OPTIONAL_SYSCALLS.values() for name in names} -
                   {s.removeprefix("uf_sys_") for s in linked})
    source = work / "optional_syscalls.c"
    source.write_text(render("optional_syscalls.c.j2", names=names))
    job = CompileJob(source, work / "optional_syscalls.o", (*libos_args, f"-ffile-prefix-map={work}=build"))
    toolchain.compile_all([job])
    return [job.output]


class _Clock:
    def __init__(self):
        self.laps: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = now - self._last
        self._last = now
