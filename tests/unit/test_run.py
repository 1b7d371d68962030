"""The runner's pure parts: guest argument quoting, the QEMU command line, exit status decoding. No QEMU."""

import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from uniforge.errors import RunError
from uniforge.run import (
    CRASH_STATUS,
    Ending,
    build_qemu_command,
    decode_exit,
    kernel_cmdline,
    quote_guest_args,
)

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
    settings = {
        "binary": "qemu-system-x86_64",
        "accel": "tcg",
        "machine": "microvm",
        "cpu": "max",
        "memory": "64M",
        "args": ["-bios", "/usr/share/qemu/qboot.rom", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"],
    }
    return SimpleNamespace(qemu={**settings, **qemu}, exit="isa-debug-exit")


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
    settings = dict(target().qemu)
    del settings["args"]
    command = build_qemu_command(SimpleNamespace(qemu=settings, exit="isa-debug-exit"), Path("k.elf"))
    assert "-bios" not in command


@pytest.mark.parametrize(
    "returncode, status",
    [(1, 0), (7, 3), (201, 100), (253, 126)],
)
def test_isa_debug_exit_status(returncode, status):
    outcome = decode_exit("isa-debug-exit", returncode, shutdown_reason="guest-shutdown")
    assert (outcome.ending, outcome.exit_code) == (Ending.EXITED, status)
    assert str(status) in outcome.message


def test_crash_status():
    outcome = decode_exit("isa-debug-exit", (CRASH_STATUS << 1) | 1, crash="page fault at 0x0")
    assert (outcome.ending, outcome.exit_code) == (Ending.CRASHED, 127)
    assert "page fault at 0x0" in outcome.message


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
        (127, None, Ending.CRASHED, 127),
        (0, "guest-shutdown", Ending.POWEROFF, 1),  # PSCI SYSTEM_OFF
        (0, "guest-reset", Ending.RESET, 1),
    ],
)
def test_semihosting_status_is_unshifted(returncode, reason, ending, code):
    outcome = decode_exit("semihosting", returncode, shutdown_reason=reason)
    assert (outcome.ending, outcome.exit_code) == (ending, code)


def test_unknown_exit_method():
    with pytest.raises(ValueError, match="carrier-pigeon"):
        decode_exit("carrier-pigeon", 1)
