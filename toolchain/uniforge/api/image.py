"""Images and guests: `Image` (a built image: inspect, run, boot) with its `BuildReport` (the modules and why each
is linked, bytes per module, the files written), `Result` (how a guest ended: status, console, crash) and `VM` (a
guest booted in the background: `with image.boot() as vm:`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from ..core.errors import RunError
from .schema import versioned

if TYPE_CHECKING:
    from ..building.pipeline import BuildResult
    from ..platforms.guest import ConsoleLog, Guest
    from ..platforms.run import RunResult
    from ..platforms.way import BootRequest

_PORT_TRIES = 5         # boots retried with other host ports when an automatic one was taken meanwhile


@dataclass(frozen=True)
class Artifact:
    """A file a build wrote: `kind` is image (what boots), debug (the same with symbols and DWARF), raw (the flat
    form of the image, e.g. a zImage), deployment (e.g. an xl config), package (what `build -f FORMAT` or
    Image.package made: `format` says which, `sha256` its digest; an OCI layout is a folder: its size is its
    files', its digest its index.json's, which names every blob by digest)."""

    kind: str
    path: Path
    format: str | None = None
    sha256: str | None = None

    @property
    def size(self) -> int:
        if self.path.is_dir():
            return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())
        return self.path.stat().st_size

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"kind": self.kind, "path": str(self.path), "bytes": self.size}
        if self.kind == "package":
            document.update(format=self.format, sha256=self.sha256)
        return document


@dataclass(frozen=True)
class BuildReport:
    """What a build did: `build --json` prints as_json()."""

    app: str
    target: str
    image: Path
    artifacts: tuple[Artifact, ...]
    modules: dict[str, str]                 # each library-OS module linked, and why (the symbol, who needed it)
    sizes: dict[str, dict[str, int]]        # bytes per owner (module, app, libc...): {"file": n, "bss": n}
    manifest: dict[str, Any]                # what the image carries in its .uniforge section (inspect)
    seconds: dict[str, float]               # per stage
    cached: dict[str, bool]                 # per stage: whether it came whole from the cache

    @classmethod
    def of(cls, result: BuildResult) -> BuildReport:
        m = result.manifest
        return cls(app=m["app"], target=m["target"], image=result.image,
                   artifacts=tuple(Artifact(kind, path) for kind, path in result.artifacts),
                   modules=dict(result.reasons), sizes=m.get("bytes", {}), manifest=m,
                   seconds={k: round(v, 3) for k, v in result.timings.items()}, cached=dict(result.cached))

    @property
    def image_bytes(self) -> int:
        return self.image.stat().st_size

    @property
    def packages(self) -> tuple[Artifact, ...]:
        """The artifacts `build -f` asked for (kind package), in the order asked."""
        return tuple(a for a in self.artifacts if a.kind == "package")

    def artifact(self, kind: str) -> Path | None:
        """The first artifact of a kind, if the build wrote one."""
        return next((a.path for a in self.artifacts if a.kind == kind), None)

    def as_json(self) -> dict[str, Any]:
        modules = {name: {"why": self.modules.get(name, "the target links it into every image"),
                          "version": info["version"], **self.sizes.get(name, {"file": 0, "bss": 0})}
                   for name, info in self.manifest["modules"].items()}
        return versioned({"app": self.app, "target": self.target, "image": str(self.image),
                          "image_bytes": self.image_bytes, "artifacts": [a.as_json() for a in self.artifacts],
                          "modules": modules, "sizes": self.sizes, "manifest": self.manifest,
                          "seconds": self.seconds, "cached": self.cached})


@dataclass(frozen=True)
class Crash:
    """The guest's crash report: its `uniforge: crash:` line and the backtrace, symbolized from the image's DWARF
    (`#N 0xADDR in FUNCTION at FILE:LINE`) when the image's .dbg twin is beside it."""

    reason: str
    backtrace: tuple[str, ...]

    def __str__(self) -> str:
        return "\n".join([f"guest crashed: {self.reason}", *(f"    {frame}" for frame in self.backtrace)])

    def as_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "backtrace": list(self.backtrace)}


@dataclass(frozen=True)
class Result:
    """How a guest ended. `status` is what `uniforge run` exits with: the guest's own exit status, or one of the
    statuses it reserves (core.errors.RunStatus: 124 timed out, 127 crashed, ...); `ending` says which kind of end
    it was: exited, crashed, timed out, reset, powered off, stopped."""

    status: int
    ending: str
    message: str            # one line, e.g. "guest exited with status 3"
    console: str            # everything the guest printed (lines end with \n, as a text file's are read)
    output: bytes           # the same, byte for byte as the guest wrote it
    crash: Crash | None
    seconds: float          # from starting the machine to its end
    qemu_stderr: str        # the machine's own warnings and errors

    @property
    def ok(self) -> bool:
        """The guest exited with status 0."""
        return self.ending == "exited" and self.status == 0

    @classmethod
    def of(cls, run: RunResult, crash: Crash | None) -> Result:
        return cls(status=run.exit_code, ending=run.ending.value, message=run.message,
                   console=run.console.replace("\r\n", "\n"), output=run.output,
                   crash=crash if run.ending.value == "crashed" else None, seconds=run.wall_time,
                   qemu_stderr=run.qemu_stderr)

    def as_json(self, image: Image, console_file: Path | None = None) -> dict[str, Any]:
        """`run --json`: the console itself is in `console_file`, if it was kept."""
        return versioned({"image": str(image.path.absolute()), "target": image.target, "status": self.status,
                          "ending": self.ending, "message": self.message,
                          "crash": self.crash.as_json() if self.crash else None,
                          "seconds": {"wall": round(self.seconds, 3)},
                          "console": str(console_file.absolute()) if console_file else None})


class Image:
    """A built image: what build() returns (with its BuildReport), or `Image.open(path)` for one built before. A
    raw form (e.g. NAME.TARGET.zImage) is opened through the ELF image beside it, which carries the manifest."""

    def __init__(self, path: str | Path, *, report: BuildReport | None = None):
        self.path = Path(path)
        self.report = report
        self._manifest: dict[str, Any] | None = report.manifest if report else None

    @classmethod
    def open(cls, path: str | Path) -> Image:
        """An image on disk; ImageError if it is not one."""
        image = cls(path)
        image.manifest      # noqa: B018 - read now, so a file that is not an image fails here
        return image

    def __repr__(self) -> str:
        return f"Image({str(self.path)!r})"

    @property
    def elf(self) -> Path:
        """The ELF image that carries the manifest (the image itself, unless it is a raw form or a disk made of
        it)."""
        from .. import packaging
        from ..building.image import RAW_FORMS
        made_of = self.path.suffix in RAW_FORMS.values() or packaging.disk_format(self.path) is not None
        return self.path.with_suffix("") if made_of else self.path

    @property
    def debug_path(self) -> Path | None:
        """The same image with symbols and DWARF (NAME.TARGET.dbg), if it is beside it."""
        debug = self.elf.with_name(self.elf.name + ".dbg")
        return debug if debug.is_file() else None

    @property
    def manifest(self) -> dict[str, Any]:
        if self._manifest is None:
            from ..building import image as images
            self._manifest = images.read(self.elf)
        return self._manifest

    @property
    def target(self) -> str:
        return str(self.manifest["target"])

    @property
    def app(self) -> str:
        return str(self.manifest["app"])

    def inspect(self) -> dict[str, Any]:
        """What `uniforge inspect --json` prints: the image's manifest (target, modules with versions, config,
        sources, bytes per module), its path and size."""
        return versioned({"image": str(self.path.absolute()), "image_bytes": self.path.stat().st_size,
                          **self.manifest})

    def package(self, formats: Sequence[str], *, push: str | None = None) -> tuple[Artifact, ...]:
        """Makes the artifacts `formats` (raw, qcow2, vmdk, vhdx, iso, libvirt, oci, openstack, kubevirt; and those
        they need) beside the image, reproducibly; `push` (REGISTRY/REPO:TAG) copies the OCI images to a registry.
        ImageError, in one line and with nothing left behind, for a format the target cannot make, a tool this
        host lacks, a registry that refuses or an output folder that cannot take them."""
        from .. import packaging
        made = packaging.package(self.elf, formats, push=push)
        return tuple(Artifact("package", a.path, a.format, a.sha256) for a in made)

    def run(self, args: Sequence[str] = (), *, cmdline: str = "", memory: str | None = None,
            publish: Sequence[int | str] = (), net: str | None = None, netns: str | None = None,
            disks: Sequence[str | Path] = (), timeout: float | None = None, console: TextIO | BinaryIO | None = None,
            extra_qemu_args: Sequence[str] = (), target: str | None = None, stdin: bytes | BinaryIO | None = None,
            firmware: str | None = None, machine: str | None = None, via: str = "qemu") -> Result:
        """Boots the image and waits for the guest's end (see boot for the arguments); `timeout` seconds after
        its start the guest is stopped and the result is "timed out" (status 124)."""
        with self.boot(args, cmdline=cmdline, memory=memory, publish=publish, net=net, netns=netns, disks=disks,
                       timeout=timeout, console=console, extra_qemu_args=extra_qemu_args, target=target,
                       stdin=stdin, firmware=firmware, machine=machine, via=via) as vm:
            return vm.wait()

    def boot(self, args: Sequence[str] = (), *, cmdline: str = "", memory: str | None = None,
             publish: Sequence[int | str] = (), net: str | None = None, netns: str | None = None,
             disks: Sequence[str | Path] = (), timeout: float | None = None,
             console: TextIO | BinaryIO | None = None, extra_qemu_args: Sequence[str] = (), target: str | None = None,
             stdin: bytes | BinaryIO | None = None, firmware: str | None = None, machine: str | None = None,
             via: str = "qemu") -> VM:
        """Boots the image on its target's way and returns once the guest runs: a VM, whose `with` block ends
        the guest however it is left.

        `args` are the guest's argv[1:], `cmdline` library-OS options and environment (uf.x=y NAME=value),
        `memory` its RAM (default: the image's). `publish` forwards host ports to guest ports through QEMU's
        user networking: a guest port number gets a free host port on 127.0.0.1 (vm.port(N) says which),
        "[ADDR:]HOST:GUEST[/udp]" a chosen one. `net` is "user", "tap:NAME" or "none" (default: user when
        something is published); `netns` the network namespace (`ip netns`) QEMU runs in, e.g. that of the tap
        device (its forwarded ports then listen there too); `disks` raw disk images ("FILE:ro" read-only), disk 0 first. `timeout`
        limits the guest's whole life (then it is stopped: "timed out"); `console` also streams the console
        there as it comes (byte for byte to a binary stream or a text one with a buffer, sys.stdout); `stdin` is
        the console's input (bytes, or a binary file read to its end; None: end of input at once) on targets
        whose console is a line of its own (capability "console"); the guest's isatty() says whether
        `stdin` and `console` are terminals. `extra_qemu_args` go last on QEMU's command line. `target` boots it
        on another target than the one it was built for (the same image boots on kvm-x86_64 as on qemu-x86_64).
        A disk image made by package() (NAME.TARGET.qcow2, ...) boots through firmware and its boot loader:
        `firmware` (bios, uefi, uboot) and `machine` choose among those the target's [firmware] table names
        (default: its first). `via` "libvirt" defines and starts the domain through libvirtd instead of QEMU
        itself. RunError, in one line, if the guest cannot be started."""
        from ..building import targets
        from ..platforms import way_to_boot
        from ..platforms.run import terminal_option

        way = way_to_boot(targets.load(target or self.target), self.path, firmware=firmware, machine=machine,
                          via=via)
        tries = 1
        while True:
            request, automatic = self._request(args, f"{cmdline} {terminal_option(stdin, console)}".strip(), memory,
                                               publish, net, netns, disks, extra_qemu_args)
            try:
                guest = way.boot(self.path, request, timeout=timeout, console=console,
                                 symbolizer=_lazy_symbolizer(self.debug_path), stdin=stdin)
                return VM(self, guest, request)
            except RunError:
                # A host port chosen for us was taken between its choice and QEMU's bind (another test
                # process): choose again.
                if tries == _PORT_TRIES or all(_free(f) for f in automatic):
                    raise
                tries += 1

    def _request(self, args: Sequence[str], cmdline: str, memory: str | None, publish: Sequence[int | str],
                 net: str | None, netns: str | None, disks: Sequence[str | Path],
                 extra_qemu_args: Sequence[str]) -> tuple[BootRequest, list[Any]]:
        from ..platforms.way import BootRequest
        from ..running.devices import free_port, parse_disk, parse_network

        specs = [f"127.0.0.1:{free_port()}:{p}" if isinstance(p, int) else p for p in publish]
        network = parse_network(net, specs, netns)
        automatic = [f for f, p in zip(network.forwards, publish) if isinstance(p, int)]
        request = BootRequest(tuple(args), cmdline, memory or self.manifest["config"].get("memory"), network,
                              tuple(parse_disk(str(d)) for d in disks), tuple(extra_qemu_args))
        return request, automatic


class QMP:
    """QMP commands to a running guest's machine (vm.qmp.execute("query-status"))."""

    def __init__(self, guest: Guest):
        self._guest = guest

    def execute(self, command: str, arguments: dict[str, Any] | None = None, *, timeout: float = 30.0) -> Any:
        return self._guest.qmp(command, arguments, timeout=timeout)


class VM:
    """A guest running in the background (Image.boot). Leaving its `with` block, or close(), ends it on every path
    (an exception, Ctrl-C): QMP quit, then kill; never a QEMU left behind."""

    def __init__(self, image: Image, guest: Guest, request: BootRequest):
        self.image = image
        self._guest = guest
        self._request = request
        self._cursor = 0
        self._result: Result | None = None

    def __enter__(self) -> VM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._guest.close()

    @property
    def console(self) -> ConsoleLog:
        """The console so far (`.text`, `str()`) and as it comes (iterate for its lines until the guest ends)."""
        return self._guest.console

    @property
    def running(self) -> bool:
        """Whether the guest still runs."""
        from ..platforms.guest import Stage
        return self._guest.stage is not Stage.ENDED

    @property
    def stage(self) -> str:
        """How far the boot got: starting the machine, running, printing, ended."""
        return self._guest.stage.value

    @property
    def crash(self) -> Crash | None:
        """The guest's crash report, once it printed one (its backtrace grows until the guest ends)."""
        found = self._guest.crash
        return Crash(found[0], tuple(found[1])) if found else None

    @property
    def qmp(self) -> QMP:
        return QMP(self._guest)

    def expect(self, pattern: str | re.Pattern[str], timeout: float | None = 30.0, *,
               since_boot: bool = False) -> re.Match[str]:
        """Waits until the console shows `pattern` after the previous expect's match (`since_boot`: anywhere in
        the console, e.g. in a guest several tests share; the next expect still starts where it would); the
        match. GuestTimeout (saying the boot stage reached) after `timeout` seconds, RunError if the guest ended
        first."""
        found = self._guest.expect(pattern, timeout, start=0 if since_boot else self._cursor)
        self._cursor = max(self._cursor, found.end())
        return found

    def port(self, guest_port: int, protocol: str = "tcp") -> tuple[str, int]:
        """The host address and port that reach the guest's `guest_port` (published when it was booted)."""
        for f in self._request.network.forwards:
            if f.guest_port == guest_port and f.protocol == protocol:
                return f.address or "127.0.0.1", f.host_port
        published = ", ".join(f"{f.guest_port}/{f.protocol}" for f in self._request.network.forwards) or "none"
        raise RunError(f"guest port {guest_port}/{protocol} was not published (published: {published})",
                       hint=f"boot it with publish=[{guest_port}]")

    def wait(self, timeout: float | None = None) -> Result:
        """Waits for the guest's end: its Result. GuestTimeout after `timeout` seconds (the guest keeps running)."""
        if self._result is None:
            self._result = self._ended(self._guest.wait(timeout))
        return self._result

    def stop(self) -> Result:
        """Ends the guest now; its Result ("stopped", unless it had ended already)."""
        if self._result is None:
            self._result = self._ended(self._guest.stop())
        return self._result

    def _ended(self, run: RunResult) -> Result:
        result = Result.of(run, self.crash)
        if result.ending == "timed out":        # say how far it got
            return replace(result, message=f"{result.message}; boot stage reached: {self._guest.reached.value}")
        return result


def _lazy_symbolizer(debug: Path | None) -> Any:
    """Annotates backtraces from `debug`'s DWARF, read only if the guest crashes."""
    if debug is None:
        return None
    loaded: list[Any] = []

    def symbolize(address: int, is_return_address: bool) -> str:
        if not loaded:
            from ..building.symbolize import Symbolizer
            loaded.append(Symbolizer(debug))
        return str(loaded[0].format(address, is_return_address))

    return symbolize


def _free(forward: Any) -> bool:
    from ..running.devices import port_free
    return port_free(forward.host_port, forward.protocol, forward.address)
