"""The pytest plugin, run by pytest's own pytester on test files written here, as a user of the wheel writes them:
a passing test, a failing one whose report shows the guest's console, a crashing guest whose backtrace is the
failure, a timeout that says the boot stage reached, the target matrix from the marker and --uniforge-target (and
a target parametrized by hand), and pytest-xdist workers that never clash on ports. The guests are real
(tests/apps/waiter)."""
import re
import shutil

import pytest

from conftest import TEST_APPS
from uniforge.core.paths import cache_root

MATRIX = ["qemu-x86_64", "qemu-armv7"]
CACHE = cache_root()        # read before pytester points HOME at its own folder


@pytest.fixture
def project(pytester, monkeypatch):
    """A project folder with the waiter app; conftest-free, so only the installed plugin is at work. It shares
    this session's build cache."""
    monkeypatch.setenv("UNIFORGE_CACHE", str(CACHE))
    shutil.copytree(TEST_APPS / "waiter", pytester.path / "app", ignore=shutil.ignore_patterns("build"))
    pytester.makeini("[pytest]\nuniforge_app = app\n")
    return pytester


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=1200)


def test_passing_and_failing_tests_with_the_console(project):
    project.makepyfile(test_guest="""
        import pytest

        @pytest.mark.uniforge(args=["say=all-good"])
        def test_passes(unikernel):
            unikernel.expect("all-good")
            assert unikernel.wait(120).ok

        @pytest.mark.uniforge(args=["say=console-of-the-failing-test", "exit=4"])
        def test_fails(unikernel):
            assert unikernel.wait(120).status == 0, "the test's own assertion"
    """)
    result = run(project, "-v")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "test_passes[qemu-x86_64] PASSED" in out
    assert "the test's own assertion" in out
    assert "uniforge console: waiter on qemu-x86_64" in out and "console-of-the-failing-test" in out
    assert "all-good" not in out            # a passing test's console is not shown


def test_a_guest_a_module_fixture_shares_shows_its_console(project):
    """A guest booted once per module by a fixture of the user's own (Image.boot): a failed test's report carries
    its console too."""
    project.makepyfile(test_shared="""
        import pytest

        @pytest.fixture(scope="module")
        def shared(uniforge_build, uniforge_target):
            with uniforge_build("app", uniforge_target).boot(["say=shared-console", "sleep=600"]) as vm:
                vm.expect("shared-console", timeout=300)
                yield vm, "something else"

        def test_first(shared):
            assert shared[0].running

        def test_second(shared):
            assert False, "the test's own assertion"
    """)
    result = run(project, "-v")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "uniforge console: waiter on qemu-x86_64 (fixture shared)" in out and "shared-console" in out
    assert out.count("shared-console") == 1            # the passing test's report shows none


def test_a_crashing_guest_fails_the_test_with_its_backtrace(project):
    project.makepyfile(test_crash="""
        import pytest

        @pytest.mark.uniforge(args=["crash"])
        def test_boots(unikernel):
            unikernel.wait(120)             # the test itself asks nothing of the guest's end

        @pytest.mark.uniforge(args=["crash"])
        def test_expects_it(uniforge_boot):
            vm = uniforge_boot(args=["crash"], expect_crash=True)
            assert vm.wait(120).crash is not None
    """)
    result = run(project)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert re.search(r"waiter on qemu-x86_64: guest crashed: page fault", out), out
    assert re.search(r"#0 0x[0-9a-f]+ in crash at main\.c:\d+", out), out
    assert re.search(r"in main at main\.c:\d+", out), out                # the caller (or where it was inlined)


def test_a_timeout_names_the_boot_stage(project):
    project.makepyfile(test_timeout="""
        import pytest

        @pytest.mark.uniforge(args=["sleep=600"])
        def test_waits_for_what_never_comes(unikernel):
            unikernel.expect("listening", timeout=3)
    """)
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*uniforge: no 'listening' on the console after 3 s; boot stage reached: the guest "
                                 "is running and printing; its last line: 'ready'*"])


def test_the_target_matrix(project):
    project.makepyfile(test_matrix=f"""
        import pytest

        @pytest.mark.uniforge(targets={MATRIX!r})
        def test_on_each(unikernel, uniforge_target):
            assert unikernel.image.target == uniforge_target
            assert unikernel.wait(120).ok

        @pytest.mark.uniforge(needs=["xen"])
        def test_xen_only(uniforge_target):
            assert uniforge_target.startswith("xen-")
    """)
    listed = run(project, "--collect-only", "-q", "-k", "on_each").stdout.str()
    assert "test_on_each[qemu-x86_64]" in listed and "test_on_each[qemu-armv7]" in listed
    chosen = run(project, "-v", "--uniforge-target", "qemu-armv7", "--uniforge-target", "qemu-x86_64-q35")
    chosen.assert_outcomes(passed=1, skipped=1)
    out = chosen.stdout.str()
    assert "test_on_each[qemu-armv7] PASSED" in out and "qemu-x86_64]" not in out
    assert "none of the targets chosen for this run" in run(project, "-rs", "-k", "xen_only", "--uniforge-target",
                                                            "qemu-x86_64").stdout.str()
    everywhere = run(project, "-v", "-k", "on_each")
    everywhere.assert_outcomes(passed=2)


def test_a_target_parametrized_by_hand_is_skipped_where_it_cannot_run(project):
    """A test whose other parameters go with each target parametrizes uniforge_target itself; a target this host
    cannot run is skipped with the reason, as the matrix's are."""
    from uniforge.api.host import target_info
    project.makepyfile(test_by_hand="""
        import pytest

        @pytest.mark.parametrize("uniforge_target, n", [("qemu-x86_64", 1), ("kvm-x86_64", 2)])
        def test_by_hand(uniforge_target, n):
            assert uniforge_target.endswith("x86_64") and n in (1, 2)
    """)
    result = run(project, "-rs", "-v")
    kvm = target_info("kvm-x86_64")
    if kvm.runs_here:
        result.assert_outcomes(passed=2)
    else:
        result.assert_outcomes(passed=1, skipped=1)
        assert f"kvm-x86_64 cannot run on this host: {kvm.why}" in result.stdout.str()
    assert "test_by_hand[qemu-x86_64-1] PASSED" in result.stdout.str()


def test_xdist_workers_build_and_publish_without_clashes(project):
    pytest.importorskip("xdist", reason="pytest-xdist is in the test extra: pip install '.[test]'")
    project.makepyfile(test_ports="""
        import socket
        import pytest

        @pytest.mark.parametrize("n", range(6))
        @pytest.mark.uniforge(args=["sleep=600"], publish=[80, 81])
        def test_port(unikernel, n):
            unikernel.expect("ready")
            for guest in (80, 81):
                host, port = unikernel.port(guest)
                with socket.create_connection((host, port), timeout=30):
                    pass
    """)
    result = run(project, "-n", "2", "-v")
    result.assert_outcomes(passed=6)
    assert "[gw0]" in result.stdout.str() and "[gw1]" in result.stdout.str()
