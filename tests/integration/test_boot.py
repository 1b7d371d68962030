"""Build the examples and boot them: console output, exit status, argv, the libc, crashes, on every target."""
import io
import json
import re

import pytest
from elftools.elf.elffile import ELFFile

from conftest import app_dir, copy_example, image_modules, one_per_arch, uniforge
from uniforge.building import targets
from uniforge.core.errors import RunStatus
from uniforge.platforms import run_image

pytestmark = pytest.mark.uniforge(needs=["boots"])
# One image per arch for what does not depend on the machine (inspect, size).
ARCH_TARGETS = one_per_arch("boots")
# What hello may link besides its target's always-linked modules: a console device, descriptors, memory, the device
# tree and interrupts; nothing for files, time or devices.
CORE_MODULES = {"boot", "trap", "console", "uart", "exit", "process", "fd", "mem", "fdt", "gic"}


def test_hello_prints_and_exits_0(uniforge_build, target):
    result = uniforge_build(app_dir("hello"), target).run(timeout=30)
    assert result.status == 0, result.message
    assert "Hello, world!" in result.console


@pytest.mark.parametrize("status", [1, 42, 127, 200, 255])
def test_exit_status_arrives_unchanged(uniforge_build, target, status):
    """Every status 0-255, also those an exit device alone cannot carry (isa-debug-exit has 7 bits) and 127,
    which `uniforge run` also exits with for a crash: the ending says which it was."""
    result = uniforge_build(app_dir("hello"), target).run([f"exit={status}"], timeout=30)
    assert (result.status, result.ending) == (status, "exited"), result.console + result.message


def test_argv_arrives(uniforge_build, target):
    args = ["plain", "with space", 'quote"d', "back\\slash", "comma,s", "--not-an-option", "é"]
    result = uniforge_build(app_dir("hello"), target).run(args, timeout=30)
    assert result.status == 0, result.message
    for i, arg in enumerate(args, 1):
        assert f"argv[{i}] = {arg}\n" in result.console


def test_libc_tour(uniforge_build, target):
    result = uniforge_build(app_dir("libc-tour"), target).run(timeout=60)
    out = result.console
    assert result.status == 0, out + result.message
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


def test_null_dereference_gives_symbolized_backtrace(uniforge_boot, uniforge_build, target):
    vm = uniforge_boot(uniforge_build(app_dir("hello"), target), ["crash"], expect_crash=True)
    result = vm.wait(120)
    assert (result.status, result.ending) == (RunStatus.CRASHED, "crashed"), result.console + result.message
    assert re.search(r"^(page fault|data abort)", result.crash.reason), result.crash
    # The faulting function and its caller, with file:line from the image's DWARF.
    assert re.search(r"in crash at \.?/?main\.c:\d+", result.crash.backtrace[0]), result.crash
    assert re.search(r"in main at \.?/?main\.c:\d+", str(result.crash)), result.crash
    assert re.search(r"^uniforge: crash: (page fault|data abort)", result.console, re.MULTILINE)


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


# hello pinned on each arch's reference target: exactly these modules, and at most this many bytes (its size when
# pinned, plus 64 bytes for alignment). Every image links what hello links, so a change that adds to it fails here
# first: make the new code reachable only from what uses it (weak references, ops tables that only users link), or
# raise the bound in a commit that says why. Measure with `uniforge build --json` and `uniforge inspect`.
HELLO = {"qemu-x86_64": ({"boot", "console", "exit", "fd", "mem", "process", "trap", "uart"}, 36_272 + 64),
         "qemu-armv7": ({"boot", "console", "exit", "fd", "fdt", "mem", "process", "trap", "uart"}, 39_256 + 64)}


@pytest.mark.parametrize("pinned", sorted(HELLO))
def test_hello_links_its_pinned_modules_within_its_bound(built, pinned):
    modules, bound = HELLO[pinned]
    folder = built("hello", pinned)
    image = folder / f"build/hello.{pinned}"
    assert image_modules(image) == modules
    assert image.stat().st_size <= bound, f"hello is {image.stat().st_size} bytes on {pinned}, over {bound}"


@pytest.mark.parametrize("memory", [64, 256])
def test_memory_size_comes_from_the_platform(uniforge_build, target, memory):
    """The RAM the guest sees is what QEMU gave it (from PVH's memory map, or the device tree on ARM)."""
    if contiguous := targets.load(target).guest.contiguous_mib:
        # More RAM than that comes in pieces, and the app's allocations are physically contiguous.
        memory = min(memory, contiguous)
    result = uniforge_build(app_dir("meminfo"), target).run(memory=f"{memory}M", timeout=60)
    assert result.status == 0, result.console + result.message
    total = int(re.search(r"ram: total=(\d+)MiB", result.console).group(1))
    assert memory - 4 <= total <= memory, result.console
    used = int(re.search(r"ram: used (\d+)MiB", result.console).group(1))
    assert used >= memory // 2, result.console


def test_a_large_anonymous_mapping_takes_ram_only_where_touched(uniforge_build, target):
    """64 MiB mapped (MAP_NORESERVE) in a 16 MiB guest (tests/apps/demandprobe): three pages written read back, the rest reads as
    zeros and free RAM barely moves; munmap gives the pages back, the addresses map again; a thread with a 4 MiB
    stack runs 1 MiB deep, and so does the main thread (Linux's 8 MiB stack, which getrlimit reports: one 512 KiB
    frame, larger than Redis's LZF table, runs, and .bss stays intact). Only images whose app maps memory link
    module demand (hello: core modules only)."""
    image = uniforge_build(app_dir("demandprobe"), target)
    if "demand" not in image.inspect()["modules"]:
        pytest.skip(f"{target} links no module demand (qemu platform only: libos/demand/module.toml says why)")
    result = image.run(timeout=120)
    assert result.status == 0, result.console + result.message
    said = [line for line in result.console.splitlines() if line.startswith("demand:")]
    assert said[0] == "demand: RLIMIT_STACK 8 MiB", said      # getrlimit tells the stack main has
    assert re.fullmatch(r"demand: mapped 64 MiB in 1[0-6] MiB free, wrote 3 pages: kept yes, others zero yes, "
                        r"free after about the same", said[1]), said
    assert said[2:] == [
        "demand: fixed over it zeroed, read-only yes, unmapped yes, mapped and unmapped 8 more times yes, "
        "free after as before",
        "demand: thread with a 4 MiB stack ran, its deep calls returned",
        "demand: main thread's stack took a 512 KiB frame and ran 1 MiB deep, .bss intact: yes",
        "demand: ok",
    ]


def test_madv_dontneed_leaves_private_memory_reading_as_zeros(uniforge_build, target):
    """tests/apps/madvprobe: after MADV_DONTNEED private memory reads as zeros, as on Linux (jemalloc and Go's runtime
    take purged pages back as zeroed ones): a small mapping, 32 MiB of which 3 pages were touched (its other pages
    stay untouched: free RAM does not move), a read-only page; a shared file mapping keeps its file's bytes. Where
    module demand backs large mappings page by page, touching 8 MiB of one takes 8 MiB of free RAM and MADV_DONTNEED
    gives it back, as Linux's does (allocators return memory this way); where it does not (the RAM was taken by mmap),
    free RAM does not move. Either way the pages read as zeros, take writes again, a read-only one stays read-only
    and a PROT_NONE one inaccessible (and reads as zeros once made accessible)."""
    image = uniforge_build(app_dir("madvprobe"), target)
    result = image.run(timeout=120)
    assert result.status == 0, result.console + result.message
    figures = re.search(r"^madv: free RAM KiB: mapped (\d+), touched (\d+), after MADV_DONTNEED (\d+)$",
                        result.console, re.M)
    assert figures, result.console
    mapped, touched, given = map(int, figures.groups())
    slack = 64      # KiB: page tables (mprotect splits a large page of RAM into small ones; mmap makes demand's)
    if "demand" in image.inspect()["modules"]:
        assert 8192 <= mapped - touched <= 8192 + slack, result.console
        assert abs(mapped - given) <= slack, result.console
    else:
        assert abs(mapped - touched) <= slack and touched == given, result.console
    assert [line for line in result.console.splitlines() if line.startswith("madv:") and "KiB" not in line] == [
        "madv: small zeroed, around it kept yes",
        "madv: large zeroed, free RAM as before",
        "madv: 8 MiB touched zeroed, written again yes, its read-only page faults on a write, its PROT_NONE page "
        "faults",
        "madv: read-only zeroed",
        "madv: shared file mapping kept: File bytes",
        "madv: other advice changes nothing",
        "madv: unaligned EINVAL, unmapped ENOMEM",
        "madv: ok",
    ], result.console


def test_unmapping_a_shared_file_mapping_in_demand_memory_forgets_it(uniforge_boot, uniforge_build, target):
    """A shared file mapping of 64 KiB lies in module demand's memory: its munmap must free vfs's record of it
    (there are 64), and anonymous memory that later reuses its addresses must never be written into the file (by
    msync, or at exit, when the stale record's pages are gone: a page fault)."""
    image = uniforge_build(app_dir("demandprobe"), target)
    if "demand" not in image.inspect()["modules"]:
        pytest.skip(f"{target} links no module demand (qemu platform only: libos/demand/module.toml says why)")
    vm = uniforge_boot(image, ["filemap"])
    result = vm.wait(120)
    assert result.status == 0, result.console + result.message
    said = [line for line in result.console.splitlines() if line.startswith("demand:")]
    assert said == ["demand: shared file mappings of 64 KiB mapped and unmapped 100 times of 100, the file after "
                    "anonymous memory at the same address was written unchanged"], result.console


def test_a_frame_larger_than_the_boot_stack_is_a_stack_overflow_crash(uniforge_boot, uniforge_build, target):
    """Without module demand, main runs on the 128 KiB boot stack (and getrlimit says so): a 64 KiB frame runs, a
    256 KiB one ends in the crash report's stack overflow, in that function, and never writes below the guard (a
    .bss canary said CHANGED before: LZF's table in Redis's SAVE)."""
    image = uniforge_build(app_dir("stackprobe"), target)
    assert "demand" not in image.inspect()["modules"]
    vm = uniforge_boot(image, [], expect_crash=True)
    result = vm.wait(300)
    assert "CHANGED" not in result.console, result.console
    said = [line for line in result.console.splitlines() if line.startswith("stack:")]
    assert said == ["stack: RLIMIT_STACK 128 KiB", "stack: a 64 KiB frame ran"], result.console
    assert (result.status, result.ending) == (RunStatus.CRASHED, "crashed"), result.console + result.message
    assert result.crash.reason.startswith("stack overflow (guard page)"), result.crash
    assert re.search(r"in frame_of at ", result.crash.backtrace[0]), result.crash


def test_touching_more_than_the_ram_is_an_out_of_memory_crash(uniforge_boot, uniforge_build, target):
    """Every page of the 64 MiB touched in 16 MiB: the crash report says why and where (memset, from main)."""
    image = uniforge_build(app_dir("demandprobe"), target)
    if "demand" not in image.inspect()["modules"]:
        pytest.skip(f"{target} links no module demand (qemu platform only: libos/demand/module.toml says why)")
    vm = uniforge_boot(image, ["exhaust"], expect_crash=True)
    result = vm.wait(180)
    assert (result.status, result.ending) == (RunStatus.CRASHED, "crashed"), result.console + result.message
    assert result.crash.reason.startswith("out of memory for a demand-zero page"), result.crash
    assert re.search(r"in memset at ", result.crash.backtrace[0]), result.crash
    assert "demand: touched them all" not in result.console


def test_malloc_returns_null_when_the_memory_is_gone_and_the_app_goes_on(uniforge_build, target):
    """tests/apps/mallocfull in 16 MiB: 256 KiB blocks, then ever smaller ones down to 16 bytes (8 on ARMv7), each
    written whole, each size until malloc returns NULL (at least half the free RAM first); a 1 MiB mmap then fails
    with ENOMEM, and so do calloc and realloc of 1 MiB, 300000 bytes and 64 KiB; every NULL of malloc, calloc and
    realloc comes with errno ENOMEM (clang took malloc for a builtin that leaves errno alone, and the app read 0:
    ERRNO_SETTING_ALLOCATORS); every block kept its bytes, freeing them gives the memory back and malloc gives as
    much again; the app prints all this and exits 0. Before module demand refused writable mappings larger than the
    free RAM, malloc went on and a write into its blocks ended the guest. With module demand (qemu) and without it
    (the Xen targets), since each has its own mmap."""
    result = uniforge_build(app_dir("mallocfull"), target).run(timeout=120)
    assert (result.status, result.ending) == (0, "exited"), result.console + result.message
    said = [line for line in result.console.splitlines() if line.startswith("mallocfull:")]
    assert re.fullmatch(r"mallocfull: \d+ KiB free, malloc gave \d+ KiB in 256 KiB blocks and \d+ KiB in smaller ones "
                        r"down to (16|8) bytes, then NULL at each size; mmap of 1 MiB: ENOMEM", said[0]), said
    assert re.fullmatch(r"mallocfull: calloc and realloc of 6 sizes: \d+ NULL, of them 6 of the sizes of 64 KiB and "
                        r"more", said[1]), said
    assert said[2:] == ["mallocfull: every NULL came with ENOMEM: yes",
                        "mallocfull: blocks kept their bytes yes; after free as much free as before; malloc gave as "
                        "much again", "mallocfull: ok"], said


def test_reserving_address_space_with_prot_none_costs_no_ram(uniforge_build, target):
    """tests/apps/reserveprobe in 16 MiB: 4096 PROT_NONE mappings of 16 KiB and 128 MiB ones (8 GiB on x86_64) take
    no RAM; then 1 MiB of one and a page of another opened with mprotect hold what is written, main's stack grows,
    a thread runs and malloc works. Before, the small ones were backed by RAM and the large ones got page tables:
    the RAM ran out and main's stack growing ended the guest."""
    image = uniforge_build(app_dir("reserveprobe"), target)
    if "demand" not in image.inspect()["modules"]:
        pytest.skip(f"{target} links no module demand (qemu platform only: libos/demand/module.toml says why)")
    result = image.run(timeout=120)
    assert (result.status, result.ending) == (0, "exited"), result.console + result.message
    said = [line for line in result.console.splitlines() if line.startswith("reserve:")]
    took = re.fullmatch(r"reserve: 4096 x 16 KiB and \d+ x 128 MiB PROT_NONE in \d+ KiB free took (\d+) KiB", said[0])
    assert took and int(took[1]) <= 64, said         # the mapping records only, no page per mapping
    assert said[1:] == [
        "reserve: mprotect opened 1 MiB and a page: yes, written and read back: yes",
        "reserve: main's stack grew 256 KiB: yes",
        "reserve: a thread ran and used malloc: yes; malloc of 1 MiB and 100 bytes: yes",
        "reserve: all unmapped: yes",
        "reserve: ok",
    ]


@pytest.mark.uniforge(needs=["raw-form"])
def test_the_raw_form_boots(built, target):
    """The same build in its flat form (a zImage: the Linux ARM boot protocol, DTB in r2) boots too."""
    folder = built("hello", target)
    raw = folder / f"build/hello.{target}.zImage"
    assert int.from_bytes(raw.read_bytes()[0x24:0x28], "little") == 0x016F2818
    out = io.StringIO()
    result = run_image(targets.load(target), raw, args=["zimage", "exit=5"], timeout=60, console=out)
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
