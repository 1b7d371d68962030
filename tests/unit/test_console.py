"""The console stream: live output, kept text, crash lines and symbolized backtraces. No QEMU."""

import io

from uniforge.running.console import Console

CRASH = (
    "hello\r\n"
    "uniforge: crash: page fault at 0x10\r\n"
    "uniforge: backtrace: 0x101234\r\n"
    "uniforge: backtrace: 0x105678\r\n"
    "bye\n"
)


def fake_symbolize(addr, is_return_address):
    return f"f{addr:x}{'-ret' if is_return_address else ''}"


def feed_in_pieces(console, data, size):
    for i in range(0, len(data), size):
        console.feed(data[i:i + size])
    console.close()


def test_backtrace_lines_are_annotated_in_place_whatever_the_chunking():
    expected = (
        "hello\r\n"
        "uniforge: crash: page fault at 0x10\r\n"
        "uniforge: backtrace: 0x101234\r\n"
        "    #0 0x101234 in f101234\n"  # the faulting pc: exact
        "uniforge: backtrace: 0x105678\r\n"
        "    #1 0x105678 in f105678-ret\n"  # return addresses after it
        "bye\n"
    )
    for size in (1, 2, 7, len(CRASH)):
        out = io.StringIO()
        console = Console(out, fake_symbolize)
        feed_in_pieces(console, CRASH.encode(), size)
        assert out.getvalue() == expected
        assert console.text == CRASH  # the kept text is the guest's own
        assert console.crash == "page fault at 0x10"


def test_without_symbolizer_output_is_unchanged():
    out = io.StringIO()
    console = Console(out)
    feed_in_pieces(console, CRASH.encode(), 5)
    assert out.getvalue() == CRASH


def test_frames_count_from_each_crash():
    out = io.StringIO()
    console = Console(out, fake_symbolize)
    console.feed(b"uniforge: crash: one\nuniforge: backtrace: 0x1\nuniforge: crash: two\nuniforge: backtrace: 0x2\n")
    assert "#0 0x1 in f1\n" in out.getvalue() and "#0 0x2 in f2\n" in out.getvalue()
    assert console.crash == "one"


def test_utf8_split_across_chunks_and_invalid_bytes():
    out = io.StringIO()
    console = Console(out)
    data = "é€\n".encode()
    console.feed(data[:1])
    console.feed(data[1:4])
    console.feed(data[4:] + b"\xff")
    console.close()
    assert console.text == "é€\n\ufffd"


def test_failing_symbolizer_does_not_stop_the_console():
    def broken(addr, is_return_address):
        raise ValueError("bad DWARF")

    out = io.StringIO()
    console = Console(out, broken)
    console.feed(b"uniforge: backtrace: 0x10\nafter\n")
    assert "#0 0x10 in ?? (symbolizer failed: bad DWARF)\n" in out.getvalue()
    assert out.getvalue().endswith("after\n")
