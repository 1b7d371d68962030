"""The Xen targets beyond what test_boot.py runs on every target: their modules, their deployment files (read back
by xl's own config parser, libxlutil), and the guest's end as Xen reports it. Booting happens on the real Xen 4.17
hypervisor from Debian under QEMU (toolchain/uniforge/platforms/xenrig.py)."""
import ctypes
import ctypes.util
import json
import re
import shutil
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from conftest import copy_example, image_modules, targets_with, uniforge
from uniforge.building import targets
from uniforge.core.errors import RunStatus

pytestmark = pytest.mark.uniforge(needs=["xen"])
XEN_MODULES = {"xen", "xencons", "xenevtchn"}     # the console's ring rings an event channel
# Drivers that only make sense on QEMU/KVM machines: none may be in a Xen image.
NOT_ON_XEN = {"uart"}


def test_hello_has_the_xen_modules_and_no_qemu_driver(built, target):
    folder = built("hello", target)
    info = json.loads(uniforge("inspect", "--json", f"build/hello.{target}", cwd=folder, check=True).stdout)
    modules = set(info["modules"])
    assert XEN_MODULES <= modules, modules
    assert not modules & NOT_ON_XEN, modules
    assert not modules & {"xengnttab", "xenstore", "xenbus", "xennet", "xenblk"}, "linked without a use"
    assert info["platform"] == "xen"
    text = uniforge("inspect", f"build/hello.{target}", cwd=folder, check=True).stdout
    assert "xencons" in text and "xenevtchn" in text


def test_build_report_names_the_deployment_files(built, target):
    folder = built("hello", target)
    report = json.loads(uniforge("build", "--json", "-t", target, cwd=folder, check=True).stdout)
    names = sorted(a["path"].rsplit("/", 1)[-1] for a in report["artifacts"] if a["kind"] == "deployment")
    assert names == sorted(f"hello.{target}.{name}" for name in targets.load(target).deploy)
    assert f"hello.{target}.xl.cfg" in names


class XlConfig:
    """xl's own parser (libxlutil, Debian's libxenmisc), used through ctypes: it needs no running Xen."""

    def __init__(self, lib: ctypes.CDLL, path):
        self._lib = lib
        lib.xlu_cfg_init.restype = ctypes.c_void_p
        lib.xlu_cfg_init.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.xlu_cfg_readfile.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.xlu_cfg_get_string.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p),
                                           ctypes.c_int]
        lib.xlu_cfg_get_long.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_long),
                                         ctypes.c_int]
        lib.xlu_cfg_get_list.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p),
                                         ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        lib.xlu_cfg_destroy.argtypes = [ctypes.c_void_p]
        libc = ctypes.CDLL(None)
        libc.fopen.restype = ctypes.c_void_p
        self._errors = libc.fopen(b"/dev/null", b"w")      # its messages: the tests check its verdicts
        self._cfg = lib.xlu_cfg_init(self._errors, str(path).encode())
        self.read_status = lib.xlu_cfg_readfile(self._cfg, str(path).encode())

    def string(self, key: str) -> str | None:
        out = ctypes.c_char_p()
        return out.value.decode() if self._lib.xlu_cfg_get_string(self._cfg, key.encode(), out, 0) == 0 else None

    def number(self, key: str) -> int | None:
        out = ctypes.c_long()
        return out.value if self._lib.xlu_cfg_get_long(self._cfg, key.encode(), out, 0) == 0 else None

    def list_length(self, key: str) -> int | None:
        items, count = ctypes.c_void_p(), ctypes.c_int()
        return count.value if self._lib.xlu_cfg_get_list(self._cfg, key.encode(), items, count, 0) == 0 else None

    def close(self) -> None:
        self._lib.xlu_cfg_destroy(self._cfg)


@pytest.fixture(scope="module")
def libxlutil():
    name = ctypes.util.find_library("xlutil")
    if name is None:
        pytest.skip("libxlutil (xl's config parser, Debian package libxenmisc4.17) is not installed: "
                    "scripts/install-host-deps installs it")
    return ctypes.CDLL(name)


def test_xl_config_parses_with_xls_own_parser(built, target, libxlutil):
    folder = built("hello", target)
    config = XlConfig(libxlutil, folder / f"build/hello.{target}.xl.cfg")
    try:
        assert config.read_status == 0
        assert config.string("name") == "hello"
        assert config.string("type") == "pvh"
        kernel = config.string("kernel")
        assert kernel and (folder / "build" / kernel).is_file()
        assert config.number("memory") == 64 and config.number("vcpus") == 1
        assert config.string("cmdline") == ""
        assert config.list_length("vif") == 0 and config.list_length("disk") == 0
    finally:
        config.close()


def test_xl_parser_rejects_a_broken_config(tmp_path, libxlutil):
    """The check above can fail: the same parser refuses an unterminated string."""
    broken = tmp_path / "broken.xl.cfg"
    broken.write_text('name = "hello\ntype = "pvh"\n')
    config = XlConfig(libxlutil, broken)
    try:
        assert config.read_status != 0
    finally:
        config.close()


def test_console_shows_the_guests_output_only(built, target):
    """The status travels on Xen's console; the runner turns it into the exit status and hides the line, and Xen's
    own log stays out of the console: what is shown is exactly what the guest printed."""
    folder = built("hello", target)
    proc = uniforge("run", f"build/hello.{target}", "--timeout", "60", "--", "exit=9", cwd=folder, timeout=180)
    assert proc.returncode == 9, proc.stdout + proc.stderr
    assert proc.stdout.replace("\r\n", "\n") == "Hello, world!\nargv[1] = exit=9\n", proc.stdout


@pytest.mark.uniforge(targets=[name for name in targets_with("xen") if "dom0less.dtsi" in targets.load(name).deploy])
def test_dom0less_fragment_compiles_into_a_device_tree(built, tmp_path, target):
    """The fragment written beside an ARM image goes into a board's device tree source as is."""
    dtc = shutil.which("dtc")
    if dtc is None:
        pytest.skip("dtc (device-tree-compiler) is not installed: scripts/install-host-deps installs it")
    folder = built("hello", target)
    fragment = (folder / f"build/hello.{target}.dom0less.dtsi").read_text()
    source = tmp_path / "board.dts"
    source.write_text("/dts-v1/;\n/ {\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n\tchosen { };\n};\n" + fragment)
    dtb = tmp_path / "board.dtb"
    subprocess.run([dtc, "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb), str(source)], check=True)
    back = subprocess.run([dtc, "-q", "-I", "dtb", "-O", "dts", str(dtb)], check=True, capture_output=True,
                          text=True).stdout
    zimage = (folder / f"build/hello.{target}.zImage").stat().st_size
    assert 'compatible = "xen,domain";' in back
    assert 'compatible = "multiboot,kernel\\0multiboot,module";' in back     # dtc writes string lists so
    assert f"reg = <{targets.load(target).xen.load_address:#x} {zimage:#x}>;" in back
    assert "memory = <0x00 0x10000>;" in back


def test_event_channels_and_grant_tables_loop_back(built, target):
    """tests/apps/xenloop: a channel with both ends in this domain, a page granted to ourselves and copied back
    through the grant by Xen, on the real hypervisor."""
    folder = built("xenloop", target)
    proc = uniforge("run", f"build/xenloop.{target}", "--timeout", "60", cwd=folder, timeout=180)
    out = proc.stdout.replace("\r\n", "\n")
    assert proc.returncode == 0, out + proc.stderr
    assert re.search(r"^domid: \d+$", out, re.MULTILINE), out
    for step in ("bound end notified once", "nothing else pending", "send b, a pending", "taken once",
                 "send a, b pending", "closed", "copied", "ended", "ended grant refused"):
        assert re.search(rf": {re.escape(step)}: ok$", out, re.MULTILINE), f"{step} in:\n{out}"
    assert {"xenevtchn", "xengnttab"} <= image_modules(f"build/xenloop.{target}", cwd=folder)


@pytest.mark.uniforge(targets=["xen-x86_64"])
def test_x86_clock_is_xens_pvclock_and_wall_clock_is_xens(tmp_path, target):
    """On xen-x86_64 time comes from vCPU 0's pvclock in the shared info page (a debug build names the source),
    and the wall clock from the shared info's: libc-tour's sleep and year checks pass on them."""
    folder = copy_example("libc-tour", tmp_path)
    proc = uniforge("run", "-t", target, "--debug", "--timeout", "60", cwd=folder, timeout=600)
    out = proc.stdout.replace("\r\n", "\n")
    assert proc.returncode == 0, out + proc.stderr
    assert "time: clock source xen-pvclock" in out, out
    assert "time: slept 20ms ok\n" in out and "time: year ok\n" in out, out


@pytest.mark.uniforge(needs=["xen", "position-independent", "raw-form"])
def test_a_position_independent_image_runs_where_xen_puts_it(built, target):
    """Xen maps an ARM dom0's RAM 1:1 wherever it finds room: the image says "anywhere" in its zImage header,
    applies its own relocations, and reports link addresses in backtraces (symbolized as usual)."""
    folder = built("hello", target)
    raw = (folder / f"build/hello.{target}.zImage").read_bytes()
    assert int.from_bytes(raw[0x28:0x2c], "little") == 0                  # start: anywhere
    assert int.from_bytes(raw[0x2c:0x30], "little") == len(raw)           # end: its size
    with open(folder / f"build/hello.{target}.dbg", "rb") as f:
        assert ELFFile(f).header["e_type"] == "ET_DYN"
    proc = uniforge("run", f"build/hello.{target}", "--timeout", "60", "--", "crash", cwd=folder, timeout=180)
    out = proc.stdout + proc.stderr
    assert proc.returncode == RunStatus.CRASHED, out
    runtime_pc = int(re.search(r"uniforge: crash: .* at pc=0x([0-9a-f]+)", out).group(1), 16)
    link_pc = int(re.search(r"#0 0x([0-9a-f]+) in crash at", out).group(1), 16)
    assert runtime_pc != link_pc, "Xen loaded dom0 at its link address: the test proves nothing"
