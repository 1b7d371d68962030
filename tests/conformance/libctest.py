#!/usr/bin/env python3
"""musl's libc-test, built test by test as Uniforge images and run on a target; pass/fail per test and the rates.

libc-test is published as a git repository (https://repo.or.cz/libc-test.git and mirrors), in no package registry,
so the suite is not fetched here: give a checkout of it.

    tests/conformance/libctest.py --suite ~/src/libc-test -t qemu-x86_64
    UNIFORGE_LIBC_TEST=~/src/libc-test tests/conformance/libctest.py -t qemu-armv7 --sample 40 --json arm.json

Each test of src/functional, src/regression and src/math becomes one image: its source (and, where its .mk links
one statically, the object it names) with the helpers of src/common it uses (libc-test links them from an archive,
so a test gets only those: its source names them), compiled with the flags of libc-test's config.mak.def that are
not glibc's. A test passes when the guest exits with status 0 (libc-test's
rule: a failing test says why on stdout and exits non-zero); a crash, a time-out or a build error is a failure.
Tests that need what a unikernel has no way to do are counted apart from the rates: dlopen and shared objects
(their .mk builds them only dynamically) and other processes (they call fork, exec*, posix_spawn, popen, system
or daemon). Tests run `-j` at a time (each boots its own QEMU).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

try:
    import uniforge  # noqa: F401
except ImportError:     # run from a checkout without installing it
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "toolchain"))

from uniforge.building import targets
from uniforge.building.manifest import Manifest
from uniforge.building.pipeline import build
from uniforge.core.errors import UniforgeError
from uniforge.platforms import run_image
from uniforge.platforms.run import Ending

GROUPS = ("functional", "regression", "math")
# config.mak.def's CFLAGS, less its glibc-only part (-D_FILE_OFFSET_BITS=64) and what the build sets itself (-g).
CFLAGS = ("-std=c99", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wno-unused-function", "-Wno-missing-braces",
          "-Wno-unused", "-Wno-overflow", "-Wno-unknown-pragmas", "-fno-builtin", "-frounding-math",
          "-Werror=implicit-function-declaration", "-Werror=implicit-int", "-Werror=pointer-sign",
          "-Werror=pointer-arith")
OTHER_PROCESSES = re.compile(r"\b(fork|vfork|exec[lv]p?e?|posix_spawnp?|popen|system|daemon)\s*\(")
# What a helper file defines: a function or variable at the start of a line, not static.
DEFINITION = re.compile(r"^(?!static\b)[A-Za-z_][\w \t*]*?\b(\w+)\s*(?:\(|=)", re.M)
# A helper header's macro (t_error calls t_printf): its name and its body.
MACRO = re.compile(r"^#define\s+(\w+)(?:\([^)]*\))?[ \t]*(.*)$", re.M)
SUITE_ENV = "UNIFORGE_LIBC_TEST"


@dataclass(frozen=True)
class Test:
    name: str                   # group/file without .c, as libc-test names it
    group: str
    sources: tuple[Path, ...]
    apart: str | None           # why it is counted apart: "dlopen/shared objects", "fork/exec", or None


@dataclass
class Result:
    name: str
    group: str
    apart: str | None
    outcome: str                # PASS, FAIL, CRASH, TIMEOUT, BUILD
    detail: str                 # the first lines the test printed, or the build error
    seconds: float


def discover(suite: Path) -> list[Test]:
    helpers = {p: set(DEFINITION.findall(p.read_text())) for p in sorted((suite / "src/common").glob("*.c"))
               if p.name != "runtest.c"}
    macros = {name: body for h in (suite / "src/common").glob("*.h") for name, body in MACRO.findall(h.read_text())}
    tests = []
    for group in GROUPS:
        for source in sorted((suite / "src" / group).glob("*.c")):
            mk = source.with_suffix(".mk")
            rules = mk.read_text() if mk.exists() else ""
            if re.search(r"^\$\(N\)\.BINS\s*:=\s*$", rules, re.M):
                continue                # a shared object another test loads, not a test
            extra = [source.parent / (Path(obj).stem + ".c")
                     for obj in re.findall(r"^\$\(N\)-static\.LDLIBS\s*:=\s*(\S+\.o)\s*$", rules, re.M)]
            dynamic_only = re.search(r"^\$\(N\)\.BINS\s*:=\s*\$\(B\)/\$\(N\)\.exe\s*$", rules, re.M)
            apart = ("dlopen/shared objects" if dynamic_only else
                     "fork/exec" if OTHER_PROCESSES.search(source.read_text(errors="replace")) else None)
            helper_files = _helpers_for([source, *extra], helpers, macros)
            tests.append(Test(f"{group}/{source.stem}", group, (source, *extra, *helper_files), apart))
    return tests


def _helpers_for(sources: list[Path], helpers: dict[Path, set[str]], macros: dict[str, str]) -> list[Path]:
    """The helper files whose definitions the sources name (directly or through the helpers' macros), and those
    these name in turn (an archive's rule)."""
    texts, chosen = [p.read_text(errors="replace") for p in sources], []
    while True:
        words = set(re.findall(r"\w+", "\n".join(texts)))
        while expanded := {w for name in words & macros.keys() for w in re.findall(r"\w+", macros[name])} - words:
            words |= expanded
        more = [p for p, names in helpers.items() if p not in chosen and names & words]
        if not more:
            return chosen
        chosen += more
        texts += [p.read_text() for p in more]


def run_test(test: Test, suite: Path, target, work: Path, timeout: float, debug: bool) -> Result:
    started = time.monotonic()
    folder = work / test.name.replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    # The app's folder is the suite's (sources are named src/...); what is built goes to the work folder.
    app = Manifest(path=suite / "uniforge.toml", name=re.sub(r"[^a-z0-9_-]", "_", folder.name.lower()),
                   sources=test.sources, include_dirs=(suite / "src/common",), cflags=CFLAGS, target=target.name,
                   memory=None, cmdline="", debug=debug)
    try:
        image = build(app, target, out_dir=folder / "build").image
    except UniforgeError as e:
        return Result(test.name, test.group, test.apart, "BUILD", _first_lines(e.message), time.monotonic() - started)
    out = io.StringIO()
    try:
        result = run_image(target, image, args=[], timeout=timeout, console=out)
    except UniforgeError as e:
        return Result(test.name, test.group, test.apart, "FAIL", _first_lines(e.message), time.monotonic() - started)
    outcome = {Ending.EXITED: "PASS" if result.exit_code == 0 else "FAIL", Ending.TIMED_OUT: "TIMEOUT"}.get(
        result.ending, "CRASH")
    detail = _first_lines(out.getvalue()) or result.message
    if outcome == "FAIL":
        detail = f"[status {result.exit_code}] {detail}"
    return Result(test.name, test.group, test.apart, outcome, detail, time.monotonic() - started)


def _first_lines(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[:lines])


def summary(results: list[Result]) -> list[str]:
    lines = []
    for group in GROUPS:
        counted = [r for r in results if r.group == group and not r.apart]
        if counted:
            passed = sum(r.outcome == "PASS" for r in counted)
            lines.append(f"{group:<11} {passed:>4} of {len(counted):<4} pass ({100 * passed / len(counted):.1f}%)")
    apart = [r for r in results if r.apart]
    if apart:
        passed = sum(r.outcome == "PASS" for r in apart)
        why = ", ".join(sorted({r.apart for r in apart}))
        lines.append(f"{'apart':<11} {passed:>4} of {len(apart):<4} pass (need {why}; not in the rates)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--suite", type=Path, default=os.environ.get(SUITE_ENV),
                        help=f"a libc-test checkout (default: ${SUITE_ENV})")
    parser.add_argument("-t", "--target", default="qemu-x86_64")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2, help="tests at a time")
    parser.add_argument("--only", default="", help="a regular expression the test names must match")
    parser.add_argument("--sample", type=int, help="this many tests, chosen at random (with --seed)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per test run (TCG is slow)")
    parser.add_argument("--debug", action="store_true", help="debug images: unimplemented syscalls are named")
    parser.add_argument("--work", type=Path, default=Path("build/libc-test"), help="where the images are built")
    parser.add_argument("--json", type=Path, help="also write every result as JSON")
    args = parser.parse_args(argv)
    if args.suite is None or not (args.suite / "src/common/test.h").is_file():
        parser.error(f"give a libc-test checkout with --suite or ${SUITE_ENV} (one with src/common/test.h)")
    target = targets.load(args.target)
    tests = [t for t in discover(args.suite.resolve()) if re.search(args.only, t.name)]
    if args.sample and args.sample < len(tests):
        tests = sorted(random.Random(args.seed).sample(tests, args.sample), key=lambda t: t.name)
    work = args.work.resolve() / target.name
    print(f"libc-test: {len(tests)} tests on {target.name}, {args.jobs} at a time", flush=True)
    results = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_test, t, args.suite.resolve(), target, work, args.timeout, args.debug)
                   for t in tests]
        for future in futures:
            r = future.result()
            results.append(r)
            apart = f" (apart: {r.apart})" if r.apart else ""
            print(f"{r.outcome:<7} {r.name}{apart}" + (f": {r.detail}" if r.outcome != "PASS" else ""), flush=True)
    for line in summary(results):
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"target": target.name, "results": [asdict(r) for r in results]}, indent=1))
    return 0 if all(r.outcome == "PASS" for r in results if not r.apart) else 1


if __name__ == "__main__":
    sys.exit(main())
