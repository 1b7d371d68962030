"""platforms/guest.py without QEMU: a boot coroutine that stands in for a way's, so the Guest's own logic is what is
tested: the console as buffer and stream (\\r\\n read as \\n, also when split between writes; bytes decoded,
passed on unchanged), expect from an offset, timeouts that name the stage, stop, and a boot that fails before the
guest runs."""
import io
import asyncio
import re

import pytest

from uniforge.core.errors import GuestTimeout, RunError
from uniforge.platforms.guest import ConsoleLog, Guest, Stage
from uniforge.platforms.run import Ending, RunResult


def test_console_log_reads_crlf_as_lf_across_writes():
    log = ConsoleLog()
    for piece in (b"one\r", b"\ntwo\r\nthr", b"ee\r"):
        log.write(piece)
    assert log.text == "one\ntwo\nthr" + "ee"
    log.close()
    assert log.text == "one\ntwo\nthree\r" and list(log) == ["one\n", "two\n", "three\r"]
    assert log.search(re.compile("t(w)o"), 0, None).group(1) == "w"
    assert log.search(re.compile("two"), 5, None) is None        # after the offset, and the log is closed


def fake_boot(lines, *, end_after_stop=True, fail=None):
    """A boot that prints `lines`, then runs until stopped (or ends by itself when not end_after_stop)."""
    async def boot(console, control):
        if fail:
            raise RunError(fail)
        control.running(None, None)
        for line in lines:
            console.feed(line.encode())
            await asyncio.sleep(0.01)
        if end_after_stop:
            await control.stop.wait()
            return RunResult(Ending.STOPPED, 130, "guest stopped by its caller", "", b"", "", 0.1)
        return RunResult(Ending.EXITED, 0, "guest exited with status 0", "", b"", "", 0.1)
    return boot


def test_expect_stop_and_the_stages():
    with Guest(fake_boot(["ready\r\n", "listening on 80\r\n"])).start() as guest:
        assert guest.expect(r"listening on (\d+)").group(1) == "80"
        assert guest.stage is Stage.PRINTING
        with pytest.raises(GuestTimeout, match="boot stage reached: the guest is running and printing; its last "
                                               "line: 'listening on 80'") as caught:
            guest.expect("never", timeout=0.2)
        assert caught.value.stage == "printing"
        with pytest.raises(GuestTimeout, match="did not end within 0.1 s"):
            guest.wait(0.1)
        assert guest.stop().ending is Ending.STOPPED
        assert guest.stage is Stage.ENDED


def test_expect_after_the_guest_ended_without_the_pattern():
    with Guest(fake_boot(["bye\r\n"], end_after_stop=False)).start() as guest:
        assert guest.wait(10).ending is Ending.EXITED
        with pytest.raises(RunError, match="guest exited with status 0 before its console showed 'hello'"):
            guest.expect("hello")


def test_a_boot_that_fails_raises_on_start():
    with pytest.raises(RunError, match="QEMU failed to start"):
        Guest(fake_boot([], fail="QEMU failed to start")).start()


def test_the_console_is_also_streamed_to_the_callers_stream():
    seen = []

    class Stream:
        def write(self, text):
            seen.append(text)

        def flush(self):
            pass

    with Guest(fake_boot(["a\r\n", "b\r\n"], end_after_stop=False), console=Stream()).start() as guest:
        guest.wait(10)
    assert "".join(seen) == "a\r\nb\r\n"          # the caller's stream gets the bytes as they came


def test_a_binary_stream_gets_every_byte_a_text_one_gets_them_decoded():
    """The console is 8-bit clean: a binary stream (or a text one's buffer) gets the bytes, also those that are
    not UTF-8 and a character split between writes; the log's text has U+FFFD for what is not UTF-8."""
    binary, text = io.BytesIO(), io.StringIO()
    for tee in (binary, text):
        log = ConsoleLog(tee)
        for piece in (b"caf\xc3", b"\xa9 \x8b\n"):
            log.write(piece)
        log.close()
        assert log.text == "caf\u00e9 \ufffd\n"
    assert binary.getvalue() == b"caf\xc3\xa9 \x8b\n" and text.getvalue() == "caf\u00e9 \ufffd\n"
