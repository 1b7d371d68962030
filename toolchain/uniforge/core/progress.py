"""Timed steps on stderr, so long work (the first libc build) shows progress and quick work stays quiet."""
import sys
import time
from contextlib import contextmanager

quiet = False


@contextmanager
def step(title: str, total: int = 0):
    """Announce a long step; yields tick() to advance a counter shown on a terminal."""
    done = 0
    start = time.monotonic()
    tty = sys.stderr.isatty()
    if not quiet:
        print(f"uniforge: {title} ...", file=sys.stderr, flush=True)

    def tick() -> None:
        nonlocal done
        done += 1
        if tty and not quiet and total:
            print(f"\r  {done}/{total}", end="", file=sys.stderr, flush=True)

    yield tick
    if not quiet:
        print(f"{chr(13) if tty and total else ''}uniforge: {title}: done in {time.monotonic() - start:.1f} s",
              file=sys.stderr, flush=True)
