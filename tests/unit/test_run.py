"""The runner's pure parts: guest argument quoting, the QEMU command line, exit status decoding. No QEMU."""

import dataclasses
import random
from pathlib import Path

import pytest

from uniforge.building import targets
from uniforge.building.targets import Qemu
from uniforge.core.errors import ExitCode, RunError, RunStatus
from uniforge.platforms.qemu import build_qemu_command
from uniforge.platforms.run import Ending, decode_exit, kernel_cmdline, quote_guest_args
from uniforge.running import devices
from uniforge.running.devices import (
    Disk,
    Network,
    PortForward,
    check_tap,
    explain_qemu_error,
    parse_disk,
    parse_network,
    parse_publish,
)
from uniforge.testing import uniforge


def guest_split(line: str) -> list[str]:
    """The guest's splitting rule (libos/process/cmdline.c, as quote_guest_args documents it), written
    independently of quote_guest_args."""
    args, current, in_word, quoted, i = [], [], False, False, 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            in_word = True
            i += 1
            current.append(line[i])
        elif c == '"':
            in_word, quoted = True, not quoted
        elif c == " " and not quoted:
            if in_word:
                args.append("".join(current))
            current, in_word = [], False
        else:
            in_word = True
            current.append(c)
        i += 1
    if in_word:
        args.append("".join(current))
    return args


def guest_argv(cmdline: str) -> list[str]:
    """What the guest takes as argv[1..]: everything after the first `--` word."""
    words = guest_split(cmdline)
    return words[words.index("--") + 1:]


TRICKY = [
    [],
    ["plain"],
    ["two words"],
    [""],
    ["", "", "x"],
    ['say "hi"'],
    ["back\\slash", "trailing\\", "\\"],
    ['\\"', '"\\'],
    ["tab\there", "new\nline", "cr\rlf", "v\vf\f"],
    ["a,b", "a,,b", "--", "-- x", "uf.debug=1"],
    ["ünïcødé", "日本語 テキスト"],
    ["'single'", "$HOME", "`cmd`", "a=b c"],
]


@pytest.mark.parametrize("args", TRICKY)
def test_quoting_round_trips(args):
    assert guest_split(quote_guest_args(args)) == args


def test_guest_split_rule():
    assert guest_split('  a  "b c"d\\"e "" f\\') == ["a", 'b cd"e', "", "f\\"]
    assert guest_split("tab\tkept") == ["tab\tkept"]


def test_quoting_round_trips_random_arguments():
    rng = random.Random(1234)
    alphabet = 'ab -"\\\t\n,=é'
    for _ in range(2000):
        args = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(6))) for _ in range(rng.randrange(4))]
        assert guest_split(quote_guest_args(args)) == args


def test_simple_arguments_stay_readable():
    assert quote_guest_args(["-v", "--port=80", "a,b"]) == "-v --port=80 a,b"
    assert quote_guest_args(["a b", ""]) == '"a b" ""'


def test_nul_cannot_be_passed():
    with pytest.raises(ValueError, match="NUL"):
        quote_guest_args(["a\0b"])


@pytest.mark.parametrize(
    "cmdline, args, expected",
    [
        ("", [], "--"),
        ("uf.debug=1 FOO=bar", [], "uf.debug=1 FOO=bar --"),
        ("", ["x"], "-- x"),
        ("  FOO=bar ", ["a b"], 'FOO=bar -- "a b"'),
    ],
)
def test_kernel_cmdline(cmdline, args, expected):
    assert kernel_cmdline(cmdline, args) == expected


def test_guest_gets_argv_after_separator():
    args = ["--", "x y", "uf.debug=1"]
    assert guest_argv(kernel_cmdline("uf.debug=0 A=b", args)) == args


def target(**qemu):
    """qemu-x86_64 with these [qemu] settings (and the keyword arguments' instead)."""
    settings = {
        "binary": "qemu-system-x86_64",
        "accel": "tcg",
        "machine": "microvm",
        "cpu": "max",
        "memory": "64M",
        "args": ("-bios", "/usr/share/qemu/qboot.rom", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"),
    }
    return dataclasses.replace(targets.load("qemu-x86_64"), qemu=Qemu(**{**settings, **qemu}))


def option(command, name):
    return command[command.index(name) + 1]


def test_qemu_command_from_target():
    command = build_qemu_command(target(), Path("/img/app.elf"), args=["a b"], cmdline="FOO=1")
    assert command[0] == "qemu-system-x86_64"
    for flag in ("-nodefaults", "-no-user-config", "-no-reboot"):
        assert flag in command
    assert option(command, "-display") == "none"
    assert option(command, "-machine") == "microvm"
    assert option(command, "-accel") == "tcg"
    assert option(command, "-cpu") == "max"
    assert option(command, "-m") == "64M"
    assert option(command, "-serial") == "stdio"
    assert option(command, "-bios") == "/usr/share/qemu/qboot.rom"
    assert option(command, "-device") == "isa-debug-exit,iobase=0xf4,iosize=0x04"
    assert option(command, "-kernel") == "/img/app.elf"
    assert option(command, "-append") == 'FOO=1 -- "a b"'
    # QMP and -S belong to the VM controller, so plain timing runs can reuse this command.
    assert "-S" not in command and "-mon" not in command and "-qmp" not in command


def test_qemu_command_overrides():
    command = build_qemu_command(
        target(machine="q35"), Path("k.elf"), memory="128M", extra_qemu_args=["-smp", "2"]
    )
    assert option(command, "-machine") == "q35"
    assert option(command, "-m") == "128M"
    assert command[-2:] == ["-smp", "2"]  # last, so they can override the target's


def test_qemu_command_without_target_args():
    command = build_qemu_command(target(args=()), Path("k.elf"))
    assert "-bios" not in command


@pytest.mark.parametrize("status", [0, 3, 100, 126, 127, 128, 200, 255])
def test_isa_debug_exit_status_comes_whole_from_the_status_byte(status):
    """The guest writes its status byte to the status channel, then (status & 0x7f) to isa-debug-exit."""
    returncode = (((status & 0x7F) << 1) | 1) & 0xFF
    outcome = decode_exit("isa-debug-exit", returncode, status_channel=bytes([status]))
    assert (outcome.ending, outcome.exit_code) == (Ending.EXITED, status)
    assert f"status {status}" in outcome.message


@pytest.mark.parametrize("returncode, status", [(1, 0), (7, 3), (201, 100), (253, 126)])
def test_isa_debug_exit_without_status_byte_is_its_7_bits(returncode, status):
    outcome = decode_exit("isa-debug-exit", returncode, shutdown_reason="guest-shutdown")
    assert (outcome.ending, outcome.exit_code) == (Ending.EXITED, status)


def test_isa_debug_exit_crash_is_127_without_status_byte():
    outcome = decode_exit("isa-debug-exit", 255, crash="page fault at 0x0")
    assert (outcome.ending, outcome.exit_code) == (Ending.CRASHED, RunStatus.CRASHED)
    assert "page fault at 0x0" in outcome.message
    # exit(127) and exit(255) come with their status byte: statuses, not crashes.
    for status in (127, 255):
        assert decode_exit("isa-debug-exit", 255, status_channel=bytes([status])).ending is Ending.EXITED


@pytest.mark.parametrize(
    "reason, ending",
    [("guest-reset", Ending.RESET), ("guest-shutdown", Ending.POWEROFF)],
)
def test_no_status(reason, ending):
    outcome = decode_exit("isa-debug-exit", 0, shutdown_reason=reason)
    assert (outcome.ending, outcome.exit_code) == (ending, 1)


def test_timeout_wins_over_how_qemu_was_stopped():
    outcome = decode_exit("isa-debug-exit", 0, shutdown_reason="host-qmp-quit", timeout=2.5)
    assert (outcome.ending, outcome.exit_code) == (Ending.TIMED_OUT, 124)
    assert "2.5 s" in outcome.message


def test_hypervisor_stopped_guest():
    outcome = decode_exit("isa-debug-exit", 0, shutdown_reason="host-qmp-quit", halted_state="internal-error")
    assert (outcome.ending, outcome.exit_code) == (Ending.CRASHED, 127)
    assert "internal-error" in outcome.message


def test_guest_panic():
    outcome = decode_exit("isa-debug-exit", 0, shutdown_reason="guest-panic")
    assert outcome.ending is Ending.CRASHED


@pytest.mark.parametrize(
    "returncode, reason, message",
    [
        (0, "host-signal", "stopped from outside"),
        (0, None, "no shutdown event"),
        (2, None, "failed while running"),
        (-9, None, "SIGKILL"),
    ],
)
def test_qemu_failures_are_errors(returncode, reason, message):
    with pytest.raises(RunError, match=message):
        decode_exit("isa-debug-exit", returncode, shutdown_reason=reason)


@pytest.mark.parametrize(
    "returncode, reason, ending, code",
    [
        (0, None, Ending.EXITED, 0),  # SYS_EXIT_EXTENDED exits QEMU directly: no SHUTDOWN event
        (3, None, Ending.EXITED, 3),
        (127, None, Ending.EXITED, 127),
        (255, None, Ending.EXITED, 255),
        (0, "guest-shutdown", Ending.POWEROFF, 1),  # PSCI SYSTEM_OFF
        (0, "guest-reset", Ending.RESET, 1),
    ],
)
def test_semihosting_status_is_unshifted(returncode, reason, ending, code):
    outcome = decode_exit("semihosting", returncode, shutdown_reason=reason)
    assert (outcome.ending, outcome.exit_code) == (ending, code)


def test_semihosting_crash_is_said_on_the_status_channel():
    outcome = decode_exit("semihosting", 127, status_channel=b"!", crash="data abort")
    assert (outcome.ending, outcome.exit_code) == (Ending.CRASHED, RunStatus.CRASHED)
    assert "data abort" in outcome.message


def test_unknown_exit_method():
    with pytest.raises(ValueError, match="carrier-pigeon"):
        decode_exit("carrier-pigeon", 1)


# The guest's devices: `uniforge run -p/--net/--disk` (devices.py) and the QEMU options they become.

def net_target(**qemu):
    return target(**{"nic_device": "virtio-net-device", "disk_device": "virtio-blk-device", **qemu})


def options_of(command, name):
    return [command[i + 1] for i, word in enumerate(command) if word == name]


@pytest.mark.parametrize(
    "spec, forward",
    [
        ("8080:80", PortForward(8080, 80, "tcp", "")),
        ("5353:53/udp", PortForward(5353, 53, "udp", "")),
        ("2222:22/TCP", PortForward(2222, 22, "tcp", "")),
        ("127.0.0.1:8080:80", PortForward(8080, 80, "tcp", "127.0.0.1")),
        ("65535:1", PortForward(65535, 1, "tcp", "")),
    ],
)
def test_publish_parses(spec, forward):
    assert parse_publish(spec) == forward


@pytest.mark.parametrize(
    "spec, message",
    [
        ("8080", "expected HOSTPORT:GUESTPORT"),
        ("8080:", "expected HOSTPORT:GUESTPORT"),
        (":80", "expected HOSTPORT:GUESTPORT"),
        ("a:b", "expected HOSTPORT:GUESTPORT"),
        ("80:80/sctp", "tcp or udp"),
        ("0:80", "port 0 is not in 1-65535"),
        ("80:70000", "port 70000"),
        ("300.1.1.1:80:80", "not an IPv4 address"),
        ("8080:80:80", "expected HOSTPORT:GUESTPORT"),
    ],
)
def test_malformed_publish_is_one_line(spec, message):
    with pytest.raises(RunError, match=message) as e:
        parse_publish(spec)
    assert "\n" not in e.value.message and spec in e.value.message


def test_hostfwd_rules():
    assert parse_publish("8080:80").hostfwd() == "tcp::8080-:80"
    assert parse_publish("127.0.0.1:5353:53/udp").hostfwd() == "udp:127.0.0.1:5353-:53"


@pytest.mark.parametrize(
    "net, publish, expected",
    [
        (None, [], Network("none")),
        (None, ["8080:80"], Network("user", "", (PortForward(8080, 80),))),
        ("user", [], Network("user")),
        ("none", [], Network("none")),
        ("tap:tap0", [], Network("tap", "tap0")),
        ("user", ["1:2", "1:2/udp"], Network("user", "", (PortForward(1, 2), PortForward(1, 2, "udp")))),
    ],
)
def test_network_modes(net, publish, expected):
    assert parse_network(net, publish) == expected


@pytest.mark.parametrize(
    "net, publish, message",
    [
        ("bridge", [], "expected user, tap:NAME or none"),
        ("tap:", [], "expected user, tap:NAME or none"),
        ("tap:tap0", ["8080:80"], "cannot be used with --net tap:tap0"),
        ("none", ["8080:80"], "cannot be used with --net none"),
        (None, ["8080:80", "8080:81"], "8080/tcp is published twice"),
    ],
)
def test_bad_network_flags(net, publish, message):
    with pytest.raises(RunError, match=message):
        parse_network(net, publish)


def test_disk_flags(tmp_path):
    image = tmp_path / "a,b.img"
    image.write_bytes(b"\0" * 512)
    assert parse_disk(str(image)) == Disk(image, False)
    assert parse_disk(f"{image}:ro") == Disk(image, True)
    with pytest.raises(RunError, match="no such file"):
        parse_disk(str(tmp_path / "missing.img"))
    with pytest.raises(RunError, match="no such file"):
        parse_disk(str(tmp_path))  # a folder is not a disk


def test_no_devices_by_default():
    command = build_qemu_command(net_target(), Path("k.elf"))
    assert "-netdev" not in command and "-drive" not in command
    assert options_of(command, "-device") == ["isa-debug-exit,iobase=0xf4,iosize=0x04"]


def test_user_network_with_forwards():
    network = parse_network(None, ["8080:80", "5353:53/udp"])
    command = build_qemu_command(net_target(), Path("k.elf"), network=network)
    assert option(command, "-netdev") == "user,id=net0,hostfwd=tcp::8080-:80,hostfwd=udp::5353-:53"
    assert "virtio-net-device,netdev=net0" in options_of(command, "-device")


def test_tap_network():
    command = build_qemu_command(net_target(), Path("k.elf"), network=parse_network("tap:tap7", []))
    assert option(command, "-netdev") == "tap,id=net0,ifname=tap7,script=no,downscript=no"
    assert "virtio-net-device,netdev=net0" in options_of(command, "-device")


def test_nic_and_disk_models_come_from_the_target(tmp_path):
    q35 = net_target(nic_device="virtio-net-pci", disk_device="virtio-blk-pci")
    command = build_qemu_command(q35, Path("k.elf"), network=Network("user"), disks=[Disk(tmp_path / "d.img")])
    assert options_of(command, "-device")[1:] == ["virtio-net-pci,netdev=net0", "virtio-blk-pci,drive=disk0"]


def test_disks_in_order():
    disks = [Disk(Path("/d/zero.img")), Disk(Path("/d/one,two.img"), read_only=True)]
    command = build_qemu_command(net_target(), Path("k.elf"), disks=disks)
    assert options_of(command, "-drive") == [
        "file=/d/zero.img,if=none,id=disk0,format=raw",
        "file=/d/one,,two.img,if=none,id=disk1,format=raw,readonly=on",  # QEMU's comma escape
    ]
    assert options_of(command, "-device")[1:] == ["virtio-blk-device,drive=disk0", "virtio-blk-device,drive=disk1"]


def test_devices_come_before_extra_args():
    command = build_qemu_command(net_target(), Path("k.elf"), network=Network("user"), extra_qemu_args=["-x"])
    assert command[-1] == "-x"


def test_target_without_device_models():
    with pytest.raises(RunError, match="no network device"):
        build_qemu_command(target(), Path("k.elf"), network=Network("user"))
    with pytest.raises(RunError, match="no disk device"):
        build_qemu_command(target(), Path("k.elf"), disks=[Disk(Path("d.img"))])


def test_missing_tap_is_checked_before_qemu(tmp_path, monkeypatch):
    monkeypatch.setattr(devices, "_SYS_NET", tmp_path)
    with pytest.raises(RunError, match="no network interface tap9"):
        check_tap(Network("tap", "tap9"))
    (tmp_path / "eth0").mkdir()
    with pytest.raises(RunError, match="eth0 is not a tap device"):
        check_tap(Network("tap", "eth0"))
    (tmp_path / "tun9").mkdir()
    (tmp_path / "tun9" / "tun_flags").write_text("0x1001\n")  # IFF_TUN | IFF_NO_PI
    with pytest.raises(RunError, match="tun9 is not a tap device"):
        check_tap(Network("tap", "tun9"))
    (tmp_path / "tap9").mkdir()
    (tmp_path / "tap9" / "tun_flags").write_text("0x1002\n")  # IFF_TAP | IFF_NO_PI
    check_tap(Network("tap", "tap9"))


def test_a_missing_network_namespace_is_one_line():
    with pytest.raises(RunError, match="--netns ufnosuchns: there is no network namespace ufnosuchns"):
        parse_network("tap:tap0", [], "ufnosuchns")


@pytest.mark.parametrize(
    "stderr, network, expected",
    [
        (("qemu-system-x86_64: -netdev user,id=net0,hostfwd=tcp::8080-:80: "
          "Could not set up host forwarding rule 'tcp::8080-:80'\n"),
         Network("user"), "cannot publish port 8080/tcp: it is in use"),
        (("qemu-system-x86_64: -netdev tap,id=net0,ifname=tap0,script=no,downscript=no: "
          "could not open /dev/net/tun: Permission denied\n"),
         Network("tap", "tap0"), "cannot open tap device tap0: permission denied"),
        (("qemu-system-x86_64: -netdev tap,id=net0,ifname=tap0: could not configure /dev/net/tun (tap0): "
          "Device or resource busy\n"),
         Network("tap", "tap0"), "tap device tap0 is in use"),
        (("qemu-system-x86_64: -device virtio-blk-device,drive=disk1: Failed to get \"write\" lock\n"
          "Is another process using the image [/tmp/d.img]?\n"),
         Network(), "disk /tmp/d.img is in use"),
        (("qemu-system-x86_64: -drive file=/x.img,if=none,id=disk0,format=raw: "
          "Could not open '/x.img': Permission denied\n"),
         Network(), "cannot open disk /x.img: Permission denied"),
        ("qemu-system-x86_64: something else entirely\n", Network("user"), None),
    ],
)
def test_qemu_device_errors_become_one_line(stderr, network, expected):
    explained = explain_qemu_error(stderr, network)
    if expected is None:
        assert explained is None
    else:
        assert expected in explained and "\n" not in explained


@pytest.mark.parametrize(
    "flags, message",
    [
        (["-p", "8080"], "-p 8080: expected HOSTPORT:GUESTPORT"),
        (["--net", "bridge"], "--net bridge: expected user, tap:NAME or none"),
        (["--disk", "/no/such/disk.img"], "--disk /no/such/disk.img: no such file"),
    ],
)
def test_bad_run_flags_are_one_line_before_anything_runs(flags, message, tmp_path):
    """The command line as a user types it: RunError's exit status, one error line (and perhaps a hint), no
    traceback. The flags are checked before the image is even read."""
    image = tmp_path / "app.qemu-x86_64"  # does not exist: the flags are wrong first
    proc = uniforge("run", str(image), *flags)
    assert proc.returncode == ExitCode.RUN
    lines = proc.stderr.splitlines()
    assert lines[0].startswith(f"uniforge: error: {message}"), proc.stderr
    assert all(line.startswith("  hint: ") for line in lines[1:]), proc.stderr
