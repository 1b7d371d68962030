"""`uniforge run` and `uniforge port run` take the guest's options from one definition: the same names, help and
meaning, the same one-line errors and exit statuses for a bad value; what only `run` does (building an app, booting
a disk image through firmware) stays `run`'s. No QEMU: bad values are refused before anything is built or booted."""
import pytest

from uniforge.cli.main import _GUEST_OPTIONS, cli
from uniforge.core.errors import ExitCode, RunStatus
from uniforge.testing import uniforge

RUN, PORT_RUN = cli.commands["run"], cli.commands["port"].commands["run"]
GUEST = ["--mem", "--timeout", "--cmdline", "--publish", "--net", "--netns", "--disk", "--json", "--console-log"]
RUN_ONLY = ["-C", "--debug", "--firmware", "--machine", "--via"]


def options(command) -> dict[str, dict]:
    return {p.opts[0]: p.to_info_dict() for p in command.params if p.param_type_name == "option"}


def test_both_commands_take_the_guests_options_as_one_definition():
    run, port_run = options(RUN), options(PORT_RUN)
    assert len(_GUEST_OPTIONS) == len(GUEST)
    for name in GUEST:
        assert run[name] == port_run[name], name
    assert not set(RUN_ONLY) & set(port_run), "options that build an app or boot a disk image are run's alone"
    assert set(RUN_ONLY) <= set(run)


def test_port_run_help_lists_them_and_the_run_statuses():
    help_text = " ".join(uniforge("port", "run", "--help", check=True).stdout.split())
    for name in ("--netns NAME", "--json", "--console-log FILE", "-p, --publish", "-m, --mem"):
        assert name in help_text, name
    assert "--firmware" not in help_text and "--via" not in help_text
    for status in RunStatus:
        assert f"{status.value} when {' '.join(status.meaning.split())}" in help_text


@pytest.mark.parametrize("bad, code, line", [
    (["--net", "bogus"], ExitCode.RUN, "uniforge: error: --net bogus: expected user, tap:NAME or none"),
    (["-p", "80:80", "--net", "none"], ExitCode.RUN,
     "uniforge: error: -p publishes ports through QEMU's user networking: it cannot be used with --net none"),
    (["--disk", "no-such.img"], ExitCode.RUN, "uniforge: error: --disk no-such.img: no such file no-such.img"),
])
def test_a_bad_value_is_the_same_one_line_and_status_for_both(bad, code, line, tmp_path):
    """Checked before the port is built or the image opened: neither needs to exist."""
    for command in (["run", "no-such-image", *bad], ["port", "run", "bzip2", *bad]):
        proc = uniforge(*command, cwd=tmp_path)
        assert (proc.returncode, proc.stderr.splitlines()[:1], proc.stdout) == (code, [line], ""), command
        assert "Traceback" not in proc.stderr


def test_a_value_click_cannot_read_is_a_usage_error_for_both(tmp_path):
    for command in (["run", "no-such-image"], ["port", "run", "bzip2"]):
        proc = uniforge(*command, "--timeout", "soon", cwd=tmp_path)
        assert proc.returncode == ExitCode.USAGE, proc.stderr
        assert "Error: Invalid value for '--timeout': 'soon' is not a valid float." in proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""
