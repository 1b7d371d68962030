"""The `uniforge` command. Commands raise; only main() prints errors and chooses the exit code."""
import json
import shlex
import sys
import traceback
from pathlib import Path

import click

from .. import api
from ..api.schema import versioned
from ..building import manifest, targets
from ..core import sizes
from ..core.errors import DiskError, ExitCode, RunStatus, UniforgeError, run_statuses
from ..core.version import __version__

HELP = """Build single-purpose unikernel images from plain C and C++ apps, with only the library-OS modules they use.

\b
  uniforge new hello && cd hello      scaffold an app (uniforge.toml + main.c)
  uniforge build                      compile and link build/hello.qemu-x86_64
  uniforge run -- a b                 build if needed, boot it, exit with the guest's status
  uniforge build -t qemu-x86_64-q35 -f qcow2 -f iso   also a disk that boots through firmware (BIOS, UEFI), an ISO
  uniforge inspect build/hello.qemu-x86_64
  uniforge targets                    what it builds for, and what this host can run
  uniforge modules                    the library-OS modules, for which arches and platforms
  uniforge doctor                     what this host has and lacks
  uniforge bench . -t qemu-x86_64     boot time, size, memory against the floor
  eval "$(uniforge env -t qemu-x86_64)"   CC, AR, --host triple, CMake file for a project's own build system
  uniforge port run nginx -p 8080:80  a real program from Debian's sources, built by its own build system
"""


@click.group(help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="uniforge")
def cli() -> None:
    pass


def _app(directory: str) -> api.App:
    return api.App.load(directory)


def _echo_json(document: dict) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True))


@cli.command()
@click.argument("name")
@click.option("--target", "-t", default="qemu-x86_64", show_default=True, help="Default target written to the manifest.")
def new(name: str, target: str) -> None:
    """Scaffold an app in a new folder NAME: uniforge.toml and main.c."""
    from ..building.generate import render
    if not manifest.NAME.match(name):
        raise UniforgeError(f"'{name}' is not a valid app name: use lower-case letters, digits, - and _")
    targets.load(target)
    folder = Path(name)
    if folder.exists():
        raise UniforgeError(f"{folder} already exists: nothing was written")
    folder.mkdir()
    (folder / "uniforge.toml").write_text(render("new/uniforge.toml.j2", name=name).replace(
        '"qemu-x86_64"', f'"{target}"', 1))
    (folder / "main.c").write_text(render("new/main.c.j2", name=name))
    click.echo(f"created {folder}/uniforge.toml and {folder}/main.c; next: cd {name} && uniforge run")


_FORMAT_HELP = ("Also make this artifact beside the image (repeatable): raw, qcow2, vmdk, vhdx (disks that boot "
                "through firmware), iso (hybrid BIOS+UEFI), libvirt (domain XML), oci (KubeVirt containerDisk and "
                "kernel-boot container), openstack (Glance properties), kubevirt (VirtualMachine).")
_PUSH_HELP = "Copy the OCI images (-f oci) to a registry: REGISTRY/REPO:TAG, and REGISTRY/REPO:TAG-kernel."


@cli.command("build")
@click.option("--target", "-t", "target_name", help="Target to build for (default: the manifest's).")
@click.option("--debug/--release", default=None, help="Debug build (default: the manifest's `debug`).")
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON on stdout.")
@click.option("-C", "directory", default=".", show_default=True, help="The app's folder.")
@click.option("--out-dir", "-o", "out_dir", type=click.Path(file_okay=False),
              help="Write the image and the files beside it here (default: the app's build/).")
@click.option("--format", "-f", "formats", multiple=True, metavar="FORMAT", help=_FORMAT_HELP)
@click.option("--push", metavar="REGISTRY/REPO:TAG", help=_PUSH_HELP)
def build_cmd(target_name, debug, as_json, directory, out_dir, formats, push) -> None:
    """Compile the app and link it with the library-OS modules it needs into build/NAME.TARGET.

    Also writes build/NAME.TARGET.dbg, the same image with symbols and DWARF (for backtraces and inspect), the
    files the target deploys the image with, and the artifacts -f asks for (build/NAME.TARGET.FORMAT; formats the
    target cannot make are refused before the build):

    \b
        uniforge build -t qemu-x86_64-q35 -f qcow2 -f iso      disks that boot on BIOS and UEFI (GRUB)
        uniforge build -t qemu-armv7 -f raw                     a disk U-Boot boots
        uniforge build -t qemu-x86_64-q35 -f oci --push localhost:5000/hello:1
    """
    built = api.build(_app(directory), target_name, debug=debug, out_dir=out_dir, progress_on_stderr=not as_json,
                      formats=formats, push=push)
    report = built.report
    assert report is not None
    if as_json:
        _echo_json(report.as_json())
        return
    mods = ", ".join(report.manifest["modules"])
    click.echo(f"built {_rel(report.image)} ({report.image_bytes:,} bytes; modules: {mods}) "
               f"in {sum(report.seconds.values()):.2f} s")
    _show_packages(report.packages)


@cli.command("package")
@click.argument("image_path", type=click.Path(dir_okay=False))
@click.option("--format", "-f", "formats", multiple=True, required=True, metavar="FORMAT", help=_FORMAT_HELP)
@click.option("--push", metavar="REGISTRY/REPO:TAG", help=_PUSH_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the artifacts as JSON on stdout.")
def package_cmd(image_path, formats, push, as_json) -> None:
    """Make artifacts of an image already built, beside it (IMAGE.FORMAT): what `build -f` makes, reproducibly
    (dates from SOURCE_DATE_EPOCH, else 1980-01-01). Disks and ISOs are made for the targets whose images boot
    through firmware (a [firmware] table: qemu-x86_64-q35, qemu-armv7); a format that cannot be made, a missing
    tool or a registry that refuses is one line, and nothing is left half-written.

    \b
        uniforge package build/hello.qemu-x86_64-q35 -f qcow2 -f iso
        uniforge package build/hello.qemu-x86_64-q35 -f oci --push localhost:5000/hello:1
    """
    image = api.Image.open(image_path)
    made = image.package(formats, push=push)
    if as_json:
        _echo_json(versioned({"image": str(image.path.absolute()), "artifacts": [a.as_json() for a in made]}))
        return
    _show_packages(made)


def _show_packages(made) -> None:
    for a in made:
        click.echo(f"wrote {_rel(a.path)} ({a.format}, {a.size:,} bytes)")


class _GuestArgsCommand(click.Command):
    """Everything after the first `--` belongs to the guest, never to click (which would take it as IMAGE)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            split = args.index("--")
            args, ctx.meta["guest_args"] = args[:split], args[split + 1:]
        return super().parse_args(ctx, args)


# The guest's machine and how its ending is reported: one definition, so `run` and `port run` mean the same by them.
_GUEST_OPTIONS = (
    click.option("--mem", "-m", "memory", help="Guest RAM, e.g. 64M or 1G (default: the manifest's, then the "
                                               "target's)."),
    click.option("--timeout", type=float,
                 help=f"Stop the guest after this many seconds (exit status {RunStatus.TIMED_OUT.value})."),
    click.option("--cmdline", default="", help="Library-OS options and environment, e.g. 'uf.ip=10.0.0.2/24 FOO=bar'."),
    click.option("--publish", "-p", multiple=True, metavar="[ADDR:]HOST:GUEST[/udp]",
                 help="Forward a host port to a guest port through user networking (repeatable), e.g. -p 8080:80."),
    click.option("--net", "net", metavar="user|tap:NAME|none",
                 help="The guest's NIC: QEMU user networking (NAT + DHCP, no root), an existing tap device, or none "
                      "(default: user when -p is given, else none)."),
    click.option("--netns", metavar="NAME",
                 help="Run QEMU in this network namespace (`ip netns`), e.g. for a tap there."),
    click.option("--disk", "disks", multiple=True, metavar="FILE[:ro]",
                 help="Attach a raw disk image (repeatable; the first is disk 0); :ro makes it read-only."),
    click.option("--json", "as_json", is_flag=True,
                 help="Print how the guest ended as JSON on stdout; the console goes to a file (--console-log)."),
    click.option("--console-log", "console_log", type=click.Path(dir_okay=False),
                 help="Also write the console to this file (with --json, default: IMAGE.console beside the image)."),
)


def _guest_options(command):
    """Adds _GUEST_OPTIONS to a command; they reach it as keyword arguments of _run_image's."""
    for option in reversed(_GUEST_OPTIONS):
        command = option(command)
    return command


@cli.command(cls=_GuestArgsCommand, epilog=run_statuses())
@click.argument("image_path", required=False, type=click.Path(dir_okay=False))
@click.option("--target", "-t", "target_name", help="Target to build for and run on (default: the manifest's, or the image's).")
@click.option("--debug/--release", default=None, help="Debug build (when building).")
@click.option("-C", "directory", default=".", show_default=True, help="The app's folder (when building).")
@_guest_options
@click.option("--firmware", help="For a disk image: the firmware that boots it (bios or uefi on x86_64, uboot or "
                                 "uefi on ARMv7; default: the target's first, bios or uboot).")
@click.option("--machine", help="For a disk image: the QEMU machine (q35 or pc on x86_64; default: the target's "
                                "first).")
@click.option("--via", default="qemu", show_default=True, type=click.Choice(["qemu", "libvirt"]),
              help="Boot with QEMU itself, or define and start the domain through libvirt (qemu:///system).")
@click.pass_context
def run(ctx, image_path, target_name, debug, directory, firmware, machine, via, **guest) -> int:
    """Boot an image in QEMU, stream its console, exit with the guest's exit status.

    Without IMAGE, builds the app in the current folder first. Arguments after `--` become the guest's argv[1:]:

    \b
        uniforge run -- a b            uniforge run build/hello.qemu-x86_64 -- a b

    Network and disks, as docker/kraft users know them:

    \b
        uniforge run -p 8080:80                 user networking, host port 8080 -> guest port 80
        uniforge run -p 5353:53/udp             a UDP port
        uniforge run --net tap:tap0             an existing tap device (ip tuntap add tap0 mode tap)
        uniforge run --netns ns0 --net tap:tap0 QEMU in a network namespace (ip netns add ns0), its tap there
        uniforge run --disk data.img --disk ro.img:ro

    The host's stdin is the guest's console input (`uniforge run < file`, `cmd | uniforge run`, or typed: ^D
    ends it); the guest's console output comes out byte for byte.

    A disk image the build made (-f raw, qcow2, vmdk, vhdx, iso) boots through firmware and its boot loader, never
    with -kernel; the boot disk is not one of the app's --disk:

    \b
        uniforge run build/hello.qemu-x86_64-q35.qcow2 --firmware uefi --machine pc -- a b
        uniforge run build/hello.qemu-x86_64-q35.qcow2 --via libvirt
    """
    _check_devices(**guest)
    if image_path:
        image = api.Image.open(image_path)
    else:
        image = api.build(_app(directory), target_name, debug=debug, progress_on_stderr=True)
    return _run_image(image, ctx.meta.get("guest_args", []), **guest, target=target_name if image_path else None,
                      firmware=firmware, machine=machine, via=via)


def _check_devices(*, net, publish, disks, netns, **_) -> None:
    """The device flags, checked before anything is read or built."""
    from ..running.devices import parse_disk, parse_network
    parse_network(net, publish, netns)
    for spec in disks:
        parse_disk(spec)


def _run_image(image, args, *, memory, timeout, cmdline, publish, net, netns, disks, as_json, console_log,
               target=None, firmware=None, machine=None, via="qemu") -> int:
    log = Path(console_log) if console_log else Path(f"{image.path}.console") if as_json else None
    result = image.run(args, cmdline=cmdline, memory=memory, publish=publish, net=net, netns=netns, disks=disks,
                       timeout=timeout, console=None if as_json else sys.stdout,
                       target=target, stdin=sys.stdin.buffer, firmware=firmware, machine=machine, via=via)
    if log is not None:
        log.write_bytes(result.output)
    if as_json:
        _echo_json(result.as_json(image, log))
    elif result.ending != "exited":
        click.secho(f"uniforge: {result.message}", err=True, fg="yellow")
    return result.status


# The cross toolchain's commands take a compiler's (or ar's) command line as it is: only a leading -t TARGET is
# theirs, and --help.
_RAW = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": ["--help"]}
_CROSS_HELP = """

\b
  eval "$(uniforge env -t qemu-x86_64)"       CC, CFLAGS, AR, UNIFORGE_HOST, CMAKE_TOOLCHAIN_FILE...
  ./configure --host=$UNIFORGE_HOST && make   then link_from = "prog" in uniforge.toml

The target is -t TARGET (first on the line) or $UNIFORGE_TARGET. Sources compile exactly as `uniforge build`
compiles an app's (musl's headers, the target's flags). Linking an executable links a static Linux executable
for this host from the same objects and the image's libc (so configure's test programs run and see the
syscalls the library OS has), and records its inputs in EXE.uniforge.json, from which `link_from` links the
image. Errors of uniforge's own are one line; the compiler's and linker's messages come as theirs."""


def _split_target(args: tuple[str, ...]) -> tuple[str | None, list[str]]:
    args = list(args)
    if args[:1] in (["-t"], ["--target"]) and len(args) > 1:
        return args[1], args[2:]
    if args and args[0].startswith("--target="):
        return args[0].split("=", 1)[1], args[1:]
    return None, args


@cli.command("cc", context_settings=_RAW, help="A C compiler driver for existing build systems (gcc's command "
             "line)." + _CROSS_HELP)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def cc_cmd(args) -> int:
    target, rest = _split_target(args)
    return api.cross_toolchain(target).cc(rest)


@cli.command("c++", context_settings=_RAW, help="The C++ compiler driver (g++'s command line): C++ compiles as "
             "`uniforge build` compiles an app's, against libc++ with its thread support on (<thread>, <mutex> work), "
             "and links with the C++ runtime built the same way." + _CROSS_HELP)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def cxx_cmd(args) -> int:
    target, rest = _split_target(args)
    return api.cross_toolchain(target).cc(rest, cxx=True)


@cli.command("ar", context_settings=_RAW, help="ar for existing build systems (llvm-ar: deterministic archives). "
             "Takes -t TARGET first, or $UNIFORGE_TARGET.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def ar_cmd(args) -> int:
    target, rest = _split_target(args)
    return api.cross_toolchain(target).ar(rest)


@cli.command("ranlib", context_settings=_RAW, help="ranlib for existing build systems. Takes -t TARGET first, or "
             "$UNIFORGE_TARGET.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def ranlib_cmd(args) -> int:
    target, rest = _split_target(args)
    return api.cross_toolchain(target).ranlib(rest)


@cli.command("env")
@click.option("--target", "-t", "target_name", help="The target (default: $UNIFORGE_TARGET).")
def env_cmd(target_name) -> None:
    """Print `export NAME=value` lines that make a project's own build system build for TARGET:

    \b
        eval "$(uniforge env -t qemu-x86_64)"
        ./configure --host=$UNIFORGE_HOST && make       (autoconf)
        cmake -B out && cmake --build out                (CMake: CMAKE_TOOLCHAIN_FILE)
        make CC="$CC" AR="$AR"                            (a plain Makefile that sets CC itself)

    CC, CXX, AR, RANLIB are scripts in the cache that do what `uniforge cc`, `c++`, `ar`, `ranlib` do for TARGET (a
    compile runs the compiler directly, without starting uniforge); CFLAGS, CXXFLAGS, LDFLAGS; UNIFORGE_HOST
    a --host triple autoconf and libtool accept; CMAKE_TOOLCHAIN_FILE a CMake toolchain file and CONFIG_SITE
    autoconf's site defaults (static libraries only; a configure without --host gets UNIFORGE_HOST as its host
    type), both in the cache; UNIFORGE_TARGET. Lines starting with # say whether configure's test programs run on
    this host. The manifest's `build` commands run with this environment.
    """
    toolchain = api.cross_toolchain(target_name)
    for note in toolchain.env_notes():
        click.echo(f"# {note}")
    for name, value in toolchain.env().items():
        click.echo(f"export {name}={shlex.quote(value)}")


@cli.command("bench")
@click.argument("app_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--target", "-t", "target_names", multiple=True, help="Target (repeatable; default: each app's).")
@click.option("-n", "runs", default=10, show_default=True, type=click.IntRange(min=1), help="Measured boots of each subject (after a warm-up).")
@click.option("--peer", "peers", multiple=True, type=click.Choice(["linux"]),
              help="Also measure a minimal Linux VM (Debian's kernel of the target's arch and busybox) on the "
                   "targets that run it (their bench.peer: the QEMU x86_64 ones and qemu-armv7).")
@click.option("--build-times/--no-build-times", default=True, show_default=True,
              help="Time cold (empty cache) and warm builds.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the report as JSON.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write the figures as CSV.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Draw boot times and sizes (PNG).")
def bench_cmd(app_dirs, target_names, runs, peers, build_times, json_path, csv_path, plot_path) -> None:
    """Measure apps against the floor (a kernel that exits at once) and, with --peer, a Linux VM: image size
    (bytes per module), boot time (host and guest side), minimum memory, build time. Subjects boot in turn, so a
    loaded machine slows them alike; figures are medians (min-max) with their ratio to the floor.

    \b
        uniforge bench examples/hello -t qemu-x86_64 -t qemu-armv7 --peer linux --json bench.json
    """
    from ..bench.benchreport import show_table, write_csv, write_json, write_plot
    report = api.bench(list(app_dirs), list(target_names), runs=runs, peers=peers, build_times=build_times,
                       command=" ".join(["uniforge", *sys.argv[1:]]))
    show_table(report)
    for path, write in ((json_path, write_json), (csv_path, write_csv), (plot_path, write_plot)):
        if path:
            write(report, Path(path))


@cli.group()
def port() -> None:
    """Real programs from Debian's source packages, built by their own build systems (./configure && make,
    make, CMake) with `uniforge cc`: recipes kept as data in the repository's ports/ folder, sources fetched by
    name and pinned version, each port's build done once per target in the uniforge cache.

    \b
        uniforge port list
        uniforge port build nginx -t qemu-armv7
        uniforge port run nginx -p 8080:80          then: curl localhost:8080/
        uniforge port run bzip2 -- -9 < file > file.bz2
    """


@port.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the ports as JSON.")
def port_list(as_json: bool) -> None:
    """List the ports: name, Debian source package and version, what it is."""
    found = api.ports()
    if as_json:
        _echo_json(versioned({"ports": [vars(p) for p in found]}))
        return
    width = max((len(p.name) for p in found), default=0)
    for p in found:
        click.echo(f"{p.name:<{width}}  {p.package} {p.version}: {p.summary}")


_PORT_TARGET = click.option("--target", "-t", "target_name", default="qemu-x86_64", show_default=True,
                            help="The target to build for.")


@port.command("build")
@click.argument("name")
@_PORT_TARGET
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON on stdout.")
def port_build(name, target_name, as_json) -> None:
    """Fetch the port's Debian sources, build them by their own build system for TARGET (once: later builds
    take it from the cache) and link the image. A failed build step is one line naming it, with the path of the
    build's log."""
    image = api.build_port(name, target_name, progress_on_stderr=not as_json)
    report = image.report
    assert report is not None
    if as_json:
        _echo_json(report.as_json())
        return
    click.echo(f"built {image.path} ({report.image_bytes:,} bytes; modules: {', '.join(report.manifest['modules'])})")


@port.command("run", cls=_GuestArgsCommand, epilog=run_statuses())
@click.argument("name")
@_PORT_TARGET
@_guest_options
@click.pass_context
def port_run(ctx, name, target_name, **guest) -> int:
    """Build the port if needed (as `port build`), boot it and exit with its status, as `uniforge run` does, with
    run's options for the guest (with --json, the console goes by default to IMAGE.console beside the port's image,
    in the cache); arguments after `--` are the program's:

    \b
        uniforge port run nginx -p 8080:80 --disk site.img
        uniforge port run sqlite3 < script.sql
        uniforge port run dos2unix --json --console-log out.txt -- --version
    """
    _check_devices(**guest)
    image = api.build_port(name, target_name, progress_on_stderr=True)
    return _run_image(image, ctx.meta.get("guest_args", []), **guest)


@port.command("check")
@click.argument("name")
@_PORT_TARGET
def port_check(name, target_name) -> None:
    """Build the port and boot it as its [port] table's check says: the console, or the page it serves, must
    show what the check expects."""
    image = api.build_port(name, target_name, progress_on_stderr=True)
    api.check_port(image, name)
    click.echo(f"port {name} on {target_name}: its check passed")


@cli.command()
@click.argument("image_path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def inspect(image_path: str, as_json: bool) -> None:
    """Show what an image is: target, modules with versions, and the bytes each module takes."""
    info = api.Image.open(image_path).inspect()
    if as_json:
        _echo_json(info)
        return
    from .inspect import show
    show(Path(image_path), info)


@cli.command("modules")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def modules_cmd(as_json: bool) -> None:
    """List the library-OS modules: what each does, and the arches and platforms it builds for."""
    from .inspect import show_modules
    show_modules(as_json)


@cli.command("targets")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
def targets_cmd(as_json: bool) -> None:
    """List the targets, and whether this host can run each."""
    from ..api.host import targets_json
    found = api.targets()
    if as_json:
        _echo_json(targets_json(found))
        return
    from .inspect import show_targets
    show_targets(found)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor(as_json: bool) -> int:
    """Check this host: QEMU, qboot, /dev/kvm (and whether KVM really runs guests), the Xen hypervisors, the
    compiler, musl sources, the artifact tools. Exits 10 when a check fails."""
    from .doctor import show_doctor
    return show_doctor(as_json)


@cli.group()
def disk() -> None:
    """FAT disk images for `uniforge run --disk` (made and read with dosfstools and mtools).

    \b
        uniforge disk create data.img --size 64M --from files/
        uniforge run --disk data.img          the app sees it at /data
        uniforge disk ls data.img /           uniforge disk get data.img /notes.txt .
    """


@disk.command("create")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--size", required=True, help="Image size, e.g. 64M or 1G (FAT16 under 64M, FAT32 from it on).")
@click.option("--from", "source", type=click.Path(file_okay=False), help="Copy this folder's contents in.")
@click.option("--fat", type=click.Choice(["16", "32"]), help="FAT width (default: by size).")
def disk_create(out: str, size: str, source: str | None, fat: str | None) -> None:
    """Make a raw disk image OUT with a FAT file system."""
    from . import disk as disks
    width = disks.create(Path(out), sizes.check(size, "--size", DiskError), Path(source) if source else None,
                         int(fat) if fat else None)
    click.echo(f"created {out} ({size}, FAT{width}){f' with the contents of {source}' if source else ''}")


@disk.command("ls")
@click.argument("image", type=click.Path(dir_okay=False))
@click.argument("path", default="/")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def disk_ls(image: str, path: str, as_json: bool) -> None:
    """List a folder of a disk image (default: its root)."""
    from . import disk as disks
    if as_json:
        _echo_json(versioned({"image": image, "path": path, "entries": disks.entries(Path(image), path)}))
        return
    click.echo(disks.ls(Path(image), path), nl=False)


@disk.command("get")
@click.argument("image", type=click.Path(dir_okay=False))
@click.argument("path")
@click.argument("dest", default=".", type=click.Path())
def disk_get(image: str, path: str, dest: str) -> None:
    """Copy PATH (a file or folder) out of a disk image to DEST (default: the current folder)."""
    from . import disk as disks
    click.echo(f"copied {path} to {disks.get(Path(image), path, Path(dest))}")


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main() -> None:
    """Entry point: user mistakes get one line and their error's exit status (1, or 4-15: ExitCode); bugs get a
    traceback and exit 3."""
    try:
        code = cli.main(standalone_mode=False)
    except UniforgeError as e:
        e.show()
        code = e.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("uniforge: interrupted", err=True)
        code = ExitCode.INTERRUPTED
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.ClickException as e:           # click's own: a command line it cannot parse
        e.show()
        code = e.exit_code
    except Exception:
        traceback.print_exc()
        click.echo(f"uniforge {__version__}: this is a bug in uniforge, please report it with the lines above",
                   err=True)
        code = ExitCode.INTERNAL
    sys.exit(code if isinstance(code, int) else 0)
