"""The xl rig's host side without a rig: how xl's words become a shutdown reason, and user mistakes as one line."""
import io

import pytest

from uniforge import targets, xlrig
from uniforge.console import Console
from uniforge.devices import Network
from uniforge.errors import RunError

XL_POWEROFF = """Parsing config from hello.xen-x86_64.xl.cfg
Waiting for domain hello-1 (domid 3) to die [pid 152]
Domain 3 has shut down, reason code 0 0x0
Action for shutdown reason code 0 is destroy
"""


def test_xl_shutdown_reasons():
    assert xlrig._shutdown_reason(XL_POWEROFF) == "poweroff"
    assert xlrig._shutdown_reason(XL_POWEROFF.replace("code 0 0x0", "code 3 0x3")) == "crash"
    assert xlrig._shutdown_reason("libxl: error: cannot (re-)build domain: -1\n") is None


def test_xl_strings_are_quoted_for_xl():
    assert xlrig._xl_string('a "b" \\c') == '"a \\"b\\" \\\\c"'


def test_missing_config_and_tap_are_one_line(tmp_path):
    target = targets.load("xen-x86_64")
    image = tmp_path / "app.xen-x86_64"
    image.write_bytes(b"")
    console = Console(io.StringIO())
    with pytest.raises(RunError, match="app.xen-x86_64.xl.cfg not found"):
        xlrig.run_image(target, image, cmdline="", memory_mib=None, timeout=1, network=Network(), disks=(),
                        console=console)
    (tmp_path / "app.xen-x86_64.xl.cfg").write_text("")
    with pytest.raises(RunError, match="--net tap"):
        xlrig.run_image(target, image, cmdline="", memory_mib=None, timeout=1, network=Network("tap", "tap0"),
                        disks=(), console=console)
