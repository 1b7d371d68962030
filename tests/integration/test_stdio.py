"""The console as a Linux program's stdin and stdout (tests/apps/stdio), on every target whose console is a line of
its own (a serial line; under xl, a domU's PV console, fed through its pty in dom0): the host's stdin reaches the
guest to its end, through a pipe, a file or nothing at all; every byte 0x00-0xff goes both ways unchanged; isatty()
says what the runner's ends are."""
import os
import pty
import subprocess
import sys
import time

import pytest

from conftest import TEST_APPS, image_modules, uniforge
from uniforge.core.paths import uniforge_command, uniforge_environment

pytestmark = pytest.mark.uniforge(needs=["console"])
ALL_BYTES = bytes(range(256))


def run_stdio(built, target, mode, stdin=None, text=False):
    folder = built("stdio", target)
    return uniforge("run", f"build/stdio.{target}", "--timeout", "60", "--", mode, cwd=folder, input=stdin,
                    text=text, timeout=180)


def test_every_byte_goes_out_unchanged(built, target):
    proc = run_stdio(built, target, "bytes")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ALL_BYTES * 2


def test_every_byte_comes_in_and_back_unchanged(built, target):
    data = ALL_BYTES * 64 + b"\xff\xff\x04 escapes in the data \xff\x01\n"      # 16 KiB and the escape byte
    proc = run_stdio(built, target, "cat", stdin=data)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == data


def test_stdin_through_stdio_to_its_end(built, target):
    proc = run_stdio(built, target, "count", stdin="one\ntwo\nthree\n", text=True)
    assert proc.returncode == 0, proc.stderr
    assert "count: 14 bytes, 3 lines, sum 1234\n" in proc.stdout


def test_the_api_passes_input_in_and_gives_the_bytes_back(uniforge_build, target):
    """Image.run(stdin=...) is the console's input; Result.output has the guest's bytes unchanged, Result.console
    the same decoded."""
    data = ALL_BYTES * 4
    result = uniforge_build(TEST_APPS / "stdio", target).run(["cat"], stdin=data, timeout=60)
    assert result.ok, result.message + result.console
    assert result.output == data and result.console == data.decode(errors="replace")


def test_no_stdin_is_end_of_file(built, target):
    proc = run_stdio(built, target, "count", text=True)
    assert proc.returncode == 0, proc.stderr
    assert "count: 0 bytes, 0 lines, sum 0\n" in proc.stdout


def test_file_as_stdin(built, target, tmp_path):
    source = tmp_path / "input.bin"
    source.write_bytes(ALL_BYTES * 8)
    folder = built("stdio", target)
    with open(source, "rb") as f:
        proc = subprocess.run(uniforge_command("run", f"build/stdio.{target}", "--timeout", "60", "--", "cat"),
                              cwd=folder, stdin=f, capture_output=True, timeout=180, env=uniforge_environment())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ALL_BYTES * 8


def test_a_reader_that_falls_behind_loses_no_output(built, target):
    """The runner reads the console at the lowest priority while every core is busy, so it falls behind the guest:
    every byte still arrives, in order. QEMU's 16550 drops bytes its stdout has no room for, so this lost bytes
    while that stdout was a pipe."""
    data = bytes(range(251)) * 16 * 65   # what `flood` writes: ~255 KiB, more than a 64 KiB pipe
    folder = built("stdio", target)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 * (os.cpu_count() or 1))]
    try:
        proc = subprocess.run(["nice", "-n", "19", *uniforge_command("run", f"build/stdio.{target}", "--timeout",
                              "150", "--", "flood")], cwd=folder, capture_output=True, timeout=180,
                              env=uniforge_environment())
    finally:
        for b in busy:
            b.kill()
            b.wait()
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) == len(data) and proc.stdout == data


def test_input_that_comes_later_wakes_a_poller(uniforge_build, uniforge_boot, target):
    """poll() halts until the console's input wakes it (the UART's receive interrupt; on Xen the PV console's event
    channel): input written once the guest waits is seen."""
    image = uniforge_build(TEST_APPS / "stdio", target)
    read_end, write_end = os.pipe()
    with open(read_end, "rb", buffering=0) as source:
        vm = uniforge_boot(image, ["poll"], stdin=source, timeout=120)
        try:
            vm.expect("poll: waiting\n", timeout=120)
            os.write(write_end, b"late")
        finally:
            os.close(write_end)
        result = vm.wait(120)
    assert result.ok, result.message + result.console
    assert "poll: ready=1 read=4 late\n" in result.console


def test_only_an_app_that_reads_gets_the_input(built, target):
    """Module stdin (and the clock and interrupts it waits with) comes only with what can read the console (stdio's
    stdin, read/readv called by the app): hello has none."""
    assert "stdin" not in image_modules(f"build/hello.{target}", cwd=built("hello", target))
    assert "stdin" in image_modules(f"build/stdio.{target}", cwd=built("stdio", target))


@pytest.mark.parametrize("reads, console", [
    ('FILE *f = fopen("/etc/passwd", "r"); char line[80]; return f && fgets(line, sizeof line, f) ? 0 : 1;', False),
    ("return getchar() == EOF;", True),
    ('char line[80]; return !fgets(line, sizeof line, stdin);', True),
])
def test_reading_ones_own_files_through_stdio_is_no_console_input(tmp_path, target, reads, console):
    """fread and fgets read through readv inside the libc whatever the file: stdin joins for the app's stdin only."""
    (tmp_path / "main.c").write_text(f"#include <stdio.h>\nint main(void) {{ {reads} }}\n")
    (tmp_path / "uniforge.toml").write_text('name = "reader"\nsources = ["main.c"]\n')
    uniforge("build", "-t", target, cwd=tmp_path, check=True)
    assert ("stdin" in image_modules(f"build/reader.{target}", cwd=tmp_path)) == console


def test_isatty_says_what_the_runners_ends_are(built, target):
    """Piped: no descriptor is a terminal (bzip2 then writes compressed data to stdout, stdio buffers it); in a
    terminal all three are."""
    piped = run_stdio(built, target, "tty", stdin="", text=True)
    assert "tty: 0 0 0\n" in piped.stdout, piped.stdout + piped.stderr
    folder = built("stdio", target)
    command, env = uniforge_command("run", f"build/stdio.{target}", "--timeout", "60", "--", "tty"), uniforge_environment()
    pid, terminal = pty.fork()
    if pid == 0:
        os.chdir(folder)
        os.execve(command[0], command, env)
    output = b""
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:         # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert b"tty: 1 1 1" in output, output


def test_errno_after_a_failing_call(built, target):
    """perror (to stderr, the same console) and strerror show the failing call's errno."""
    proc = run_stdio(built, target, "errno", text=True)
    assert proc.returncode == 0, proc.stderr
    assert "open: No such file or directory\n" in proc.stdout and "errno: 2 No such file or directory\n" in proc.stdout
