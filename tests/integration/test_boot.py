"""Build the examples and boot them: console output, exit status, argv, the libc, crashes, on every target."""
import io
import json
import re

import pytest
from elftools.elf.elffile import ELFFile

from conftest import copy_example, one_per_arch, require_target, target_fixture, targets_with, uniforge
from uniforge.building import targets
from uniforge.core.errors import RunStatus
from uniforge.platforms import run_image

target = target_fixture("boots")
# One image per arch for what does not depend on the machine (inspect, size).
ARCH_TARGETS = one_per_arch("boots")
# What hello may link besides its target's always-linked modules: a console device, descriptors, memory, the device
# tree and interrupts; nothing for files, time or devices.
CORE_MODULES = {"boot", "trap", "console", "uart", "exit", "process", "fd", "mem", "fdt", "gic"}


def test_hello_prints_and_exits_0(built, target):
    folder = built("hello", target)
    proc = uniforge("run", f"build/hello.{target}", "--timeout", "30", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert "Hello, world!" in proc.stdout


@pytest.mark.parametrize("status", [1, 42, 127, 200, 255])
def test_exit_status_arrives_unchanged(built, target, status):
    """Every status 0-255, also those an exit device alone cannot carry (isa-debug-exit has 7 bits) and 127,
    which `uniforge run` also exits with for a crash: it says which it was."""
    folder = built("hello", target)
    proc = uniforge("run", f"build/hello.{target}", "--timeout", "30", "--", f"exit={status}", cwd=folder)
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert "crash" not in proc.stderr


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
        "time: year ok" if targets.load(target).guest.wall_clock else "time: year wrong",
    ]
    for line in expected:
        assert line + "\n" in out, f"missing {line!r} in:\n{out}"


def test_null_dereference_gives_symbolized_backtrace(built, target):
    folder = built("hello", target)
    proc = uniforge("run", f"build/hello.{target}", "--timeout", "30", "--", "crash", cwd=folder)
    out = proc.stdout + proc.stderr
    assert proc.returncode == RunStatus.CRASHED, out
    assert re.search(r"uniforge: crash: (page fault|data abort)", out), out
    assert "uniforge: guest crashed: " in proc.stderr
    # The faulting function and its caller, with file:line from the image's DWARF.
    assert re.search(r"in crash at \.?/?main\.c:\d+", out), out
    assert re.search(r"in main at \.?/?main\.c:\d+", out), out


@pytest.mark.parametrize("arch_target", ARCH_TARGETS)
def test_inspect_hello_has_only_core_modules(built, arch_target):
    folder = built("hello", arch_target)
    proc = uniforge("inspect", "--json", f"build/hello.{arch_target}", cwd=folder, check=True)
    info = json.loads(proc.stdout)
    assert info["app"] == "hello" and info["target"] == arch_target
    modules = set(info["modules"])
    always = set(targets.load(arch_target).modules)
    assert always <= modules <= CORE_MODULES | always, modules
    # The bytes are attributed: every module brought code or data, and the owners account for what is loaded
    # (all but the padding between sections and segments).
    sizes = info["bytes"]
    assert all(sizes[name]["file"] + sizes[name]["bss"] > 0 for name in modules), sizes
    with open(folder / f"build/hello.{arch_target}.dbg", "rb") as f:
        loaded = sum(s["sh_size"] for s in ELFFile(f).iter_sections() if s["sh_flags"] & 0x2)
    attributed = sum(v["file"] + v["bss"] for v in sizes.values())
    assert 0.9 * loaded <= attributed <= loaded, (attributed, loaded)
    text = uniforge("inspect", f"build/hello.{arch_target}", cwd=folder, check=True).stdout
    for name in modules:
        assert re.search(rf"^ *{re.escape(name)} ", text, re.MULTILINE), text


@pytest.mark.parametrize("arch_target", ARCH_TARGETS)
def test_hello_size(built, arch_target):
    folder = built("hello", arch_target)
    size = (folder / f"build/hello.{arch_target}").stat().st_size
    assert size <= 48 * 1024, f"hello is {size} bytes, over 48 KiB"


@pytest.mark.parametrize("memory", [64, 256])
def test_memory_size_comes_from_the_platform(built, target, memory):
    """The RAM the guest sees is what QEMU gave it (from PVH's memory map, or the device tree on ARM)."""
    if contiguous := targets.load(target).guest.contiguous_mib:
        # More RAM than that comes in pieces, and the app's allocations are physically contiguous.
        memory = min(memory, contiguous)
    folder = built("meminfo", target)
    proc = uniforge("run", f"build/meminfo.{target}", "--mem", f"{memory}M", "--timeout", "60", cwd=folder,
                    timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = int(re.search(r"ram: total=(\d+)MiB", proc.stdout).group(1))
    assert memory - 4 <= total <= memory, proc.stdout
    used = int(re.search(r"ram: used (\d+)MiB", proc.stdout).group(1))
    assert used >= memory // 2, proc.stdout


@pytest.mark.parametrize("raw_target", targets_with("raw-form"))
def test_the_raw_form_boots(built, raw_target):
    """The same build in its flat form (a zImage: the Linux ARM boot protocol, DTB in r2) boots too."""
    require_target(raw_target)
    folder = built("hello", raw_target)
    raw = folder / f"build/hello.{raw_target}.zImage"
    assert int.from_bytes(raw.read_bytes()[0x24:0x28], "little") == 0x016F2818
    out = io.StringIO()
    result = run_image(targets.load(raw_target), raw, args=["zimage", "exit=5"], timeout=60, console=out)
    assert result.exit_code == 5, out.getvalue()
    assert "Hello, world!" in out.getvalue() and "argv[1] = zimage" in out.getvalue()


@pytest.mark.parametrize("debug", [True, False])
def test_unimplemented_syscall_is_enosys_and_named_once_in_debug_builds(tmp_path, debug):
    folder = copy_example("enosys", tmp_path)
    flag = "--debug" if debug else "--release"
    proc = uniforge("run", flag, "--timeout", "30", cwd=folder, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "swapon: ENOSYS" in proc.stdout
    notes = re.findall(r"uniforge: syscall swapon \(\d+\) is not implemented: ENOSYS", proc.stdout)
    assert len(notes) == (1 if debug else 0), proc.stdout
