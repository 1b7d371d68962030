"""The xl rig's host side without a rig: how xl's words become a shutdown reason, and user mistakes as one line."""
import io

import pytest

from uniforge.building import targets
from uniforge.core.errors import RunError
from uniforge.platforms import way_for, xlrig
from uniforge.platforms.way import BootRequest
from uniforge.running.devices import Network

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
    way = way_for(targets.load("xen-x86_64"))
    image = tmp_path / "app.xen-x86_64"
    image.write_bytes(b"")
    with pytest.raises(RunError, match="app.xen-x86_64.xl.cfg not found"):
        way.run(image, timeout=1, console=io.StringIO())
    with pytest.raises(RunError, match="--net tap"):
        way.run(image, BootRequest(network=Network("tap", "tap0")), timeout=1, console=io.StringIO())
