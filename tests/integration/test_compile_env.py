"""Apps are compiled as Linux/musl programs: predefines, musl's headers first, Linux UAPI headers, old C accepted
with gcc's warnings; the libm raises what C says and is close; and the stack protector still catches a smashed
stack (tests/apps/hostenv). The compile environment is the arch's, whatever the machine: one target per arch."""
import math
from decimal import Decimal
from fractions import Fraction

import pytest

from conftest import one_per_arch, uniforge
from uniforge.core.errors import RunStatus


pytestmark = pytest.mark.uniforge(targets=one_per_arch("boots"))


def test_app_sees_a_linux_musl_host(built, target):
    # The build itself checks the predefines and headers (#error otherwise).
    folder = built("hostenv", target)
    proc = uniforge("run", f"build/hostenv.{target}", "--timeout", "30", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "limits: PATH_MAX=4096 NAME_MAX=255 IOV_MAX=1024\n" in proc.stdout
    assert "old style: 42\n" in proc.stdout and "uapi: 1\n" in proc.stdout
    assert "remquol: -2\n" in proc.stdout
    # Out of range, a conversion to 64 bits raises INVALID (ARMv7's compiler runtime raised nothing), and llrint
    # and llround with it; in range, the values are exact.
    assert ("fenv: llrint(nan) INVALID llround(-inf) INVALID (long long)1e19 INVALID (unsigned long long)1e20 INVALID\n"
            "int64: -9223372036854775808 18446744073709549568 -1234567890123 9223371487098961920\n") in proc.stdout
    # The libm is strict floating point on every arch (ARMv7's clang needs telling: strictfp.py).
    assert ("libm: ilogb(0) INVALID log1p(-1) DIVBYZERO fdim(-8.4,-2.7) none\n"
            "downward: floor(0.5)=0 floorf(0.5)=0 log(1)=0\n") in proc.stdout


# True values (from an independent 64-bit-mantissa libm) where musl's acosh, asinh and erfc were 1.86, 1.55, 2.41 and
# 2.36 ulp off.
CLOSE = (("acosh", "3.0819212599856485535816013e-02"), ("asinh", "2.4527444073295957701035929e-01"),
         ("erfc", "2.8419525614609789768058015e-02"), ("erfc", "6.5926552179710055010609038e-158"))


def test_libm_is_exact_where_the_result_is_and_within_an_ulp(built, target):
    folder = built("hostenv", target)
    proc = uniforge("run", f"build/hostenv.{target}", "--timeout", "30", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Exact powers of two raise nothing, x^1 is x rounding upward too; inexact tiny results still underflow, and a
    # normal erfc does not (its corrections are kept normal).
    assert ("exact: pow(2,-1074) none pow(0x1p-537,2) none pow(-0x1p350,-3) none exp2(-1074) none "
            "upward:powf(FLT_MAX,1) none\n"
            "inexact: pow(2,-1074.5) UNDERFLOW INEXACT exp2(-1074.5) UNDERFLOW INEXACT erfc(27) UNDERFLOW INEXACT "
            "erfc(20) INEXACT\n") in proc.stdout
    line = next(line for line in proc.stdout.splitlines() if line.startswith("close:"))
    words = line.split()[1:]
    got = [float.fromhex(value) for value in words[1::2]]
    for (name, true), value in zip(CLOSE, got, strict=True):
        error = (Fraction(value) - Fraction(Decimal(true))) / Fraction(math.ulp(value))
        assert abs(error) < 1, f"{name}: {value.hex()} is {float(error):.2f} ulp from {true}"


def test_stack_protector_catches_a_smashed_stack(built, target):
    folder = built("hostenv", target)
    proc = uniforge("run", f"build/hostenv.{target}", "--timeout", "30", "--", "smash", cwd=folder)
    assert proc.returncode == RunStatus.CRASHED, proc.stdout + proc.stderr
    assert "uniforge: crash:" in proc.stdout and "in __stack_chk_fail" in proc.stdout, proc.stdout
    assert "uniforge: guest crashed" in proc.stderr


def test_walking_control_messages_builds_with_werror(tmp_path, target):
    """musl's CMSG_NXTHDR compares a size_t with a pointer difference; the installed header says the conversion,
    so -Wextra -Werror programs that walk control messages (nginx with clang) build (musl.HEADER_FIXES)."""
    (tmp_path / "main.c").write_text(
        "#include <sys/socket.h>\n"
        "int main(void)\n{\n\tchar buf[64] = {0};\n"
        "\tstruct msghdr msg = { .msg_control = buf, .msg_controllen = sizeof buf };\n\tint n = 0;\n"
        "\tfor (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))\n\t\tn++;\n"
        "\treturn n;\n}\n")
    (tmp_path / "uniforge.toml").write_text('name = "cmsg"\nsources = ["main.c"]\n'
                                            'cflags = ["-Wall", "-Wextra", "-Werror"]\n')
    proc = uniforge("build", "-t", target, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
