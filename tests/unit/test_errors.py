"""Every exit status in one table: values unique, each failure status owned by exactly one error class, and what
`uniforge run` reserves for the guest's endings documented from the same table."""
from uniforge.core import errors
from uniforge.core.errors import ExitCode, RunStatus, UniforgeError
from uniforge.testing import uniforge


def error_classes() -> list[type[UniforgeError]]:
    found, todo = [], [UniforgeError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found


def test_exit_codes_are_unique():
    assert len({code.value for code in ExitCode}) == len(ExitCode.__members__)
    assert len({status.value for status in RunStatus}) == len(RunStatus.__members__)


def test_one_error_class_per_code():
    owners: dict[int, list[str]] = {}
    for cls in error_classes():
        if cls.__module__ == errors.__name__:
            owners.setdefault(cls.exit_code, []).append(cls.__name__)
    assert all(len(names) == 1 for names in owners.values()), owners
    # Every failure code is some class's, except click's usage code, the bug code and Ctrl-C.
    unowned = set(ExitCode) - set(owners) - {ExitCode.OK, ExitCode.USAGE, ExitCode.INTERNAL, ExitCode.INTERRUPTED}
    assert not unowned, unowned


def test_run_help_lists_every_reserved_status():
    help_text = " ".join(uniforge("run", "--help", check=True).stdout.split())
    for status in RunStatus:
        assert f"{status.value} when {' '.join(status.meaning.split())}" in help_text
    assert f"exit status {RunStatus.TIMED_OUT.value}" in help_text
    assert RunStatus.INTERRUPTED == ExitCode.INTERRUPTED
