"""Build the examples and boot them: console output, exit status, argv, the libc, crashes, on every x86_64 target."""
import json
import re

import pytest

from conftest import require_target, uniforge

TARGETS = ["qemu-x86_64", "kvm-x86_64", "qemu-x86_64-q35"]


@pytest.fixture(params=TARGETS)
def target(request):
    require_target(request.param)
    return request.param


def test_hello_prints_and_exits_0(built, target):
    folder = built("hello", target)
    proc = uniforge("run", f"build/hello.{target}", "--timeout", "30", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert "Hello, world!" in proc.stdout


@pytest.mark.parametrize("status", [1, 3, 42, 126])
def test_exit_status_arrives_unchanged(built, target, status):
    folder = built("hello", target)
    proc = uniforge("run", f"build/hello.{target}", "--timeout", "30", "--", f"exit={status}", cwd=folder)
    assert proc.returncode == status, proc.stdout + proc.stderr


def test_argv_arrives(built, target):
    folder = built("hello", target)
    args = ["plain", "with space", 'quote"d', "back\\slash", "comma,s", "--not-an-option", "é"]
    proc = uniforge("run", f"build/hello.{target}", "--timeout", "30", "--", *args, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    for i, arg in enumerate(args, 1):
        assert f"argv[{i}] = {arg}\n" in proc.stdout.replace("\r\n", "\n")


def test_libc_tour(built, target):
    folder = built("libc-tour", target)
    proc = uniforge("run", f"build/libc-tour.{target}", "--timeout", "60", cwd=folder, timeout=120)
    out = proc.stdout.replace("\r\n", "\n")
    assert proc.returncode == 0, out + proc.stderr
    expected = [
        f"malloc: sum={sum((i & 0xff) for i in range(1, 1001))} big=42",
        "qsort: -7 -7 0 3 19 42 88 1000",
        "snprintf:  3.14|ab    |0000beef|1.234568e+04",
        "math: sqrt(2)=1.414214 sin(1)=0.841471 exp(1)=2.718282 pow(2,10)=1024",
        "strtod: 2500.000 strtol: -31",
        "ctype: UNIFORGE",
        "errno: ERANGE",
        "setjmp: 7",
        "time: slept 20ms ok",
        "time: year ok",
    ]
    for line in expected:
        assert line + "\n" in out, f"missing {line!r} in:\n{out}"


def test_null_dereference_gives_symbolized_backtrace(built, target):
    folder = built("hello", target)
    proc = uniforge("run", f"build/hello.{target}", "--timeout", "30", "--", "crash", cwd=folder)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 127, out
    assert "page fault" in out
    # The faulting function and its caller, with file:line from the image's DWARF.
    assert re.search(r"in crash at \.?/?main\.c:\d+", out), out
    assert re.search(r"in main at \.?/?main\.c:\d+", out), out


def test_inspect_hello_has_only_core_modules(built):
    folder = built("hello", "qemu-x86_64")
    proc = uniforge("inspect", "--json", "build/hello.qemu-x86_64", cwd=folder, check=True)
    info = json.loads(proc.stdout)
    assert info["app"] == "hello" and info["target"] == "qemu-x86_64"
    modules = set(info["modules"])
    assert modules <= {"boot", "trap", "console", "exit", "process", "fd", "mem"}, modules
    for absent in ("net", "virtio", "blk", "fat", "fs", "time"):
        assert not any(absent in m for m in modules), f"{absent} linked into hello"
    assert sum(v["file"] for v in info["bytes"].values()) > 0
    text = uniforge("inspect", "build/hello.qemu-x86_64", cwd=folder, check=True).stdout
    for name in modules:
        assert name in text


def test_hello_size(built):
    folder = built("hello", "qemu-x86_64")
    size = (folder / "build/hello.qemu-x86_64").stat().st_size
    assert size <= 48 * 1024, f"hello is {size} bytes, over 48 KiB"
