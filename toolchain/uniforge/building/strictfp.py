"""Strict floating point for the libc's math on every arch, ARM included.

C's math library must raise exactly the exceptions C and POSIX name (0/0.0 raises INVALID; a branch not taken
raises nothing) in whatever rounding mode the caller set. clang keeps that promise only under strict floating
point (-frounding-math -ffp-exception-behavior=strict), which its front end drops for ARM ("unsupported on this
target") unless told `-fexperimental-strict-floating-point` (clang 22, zig 0.17). With it, ARM's back end lowers
every strict operation musl's math uses to the VFP instruction, but one: it has no strict conversion of an i32 to
floating point and expands it as (2^52 + x) - 2^52, which gives -0.0 for x = 0 when rounding downward (floor(0.5)
and log(1) would be -0). That conversion to double is exact and raises nothing, so it needs no strict form:
`rewrite` turns it into the plain instruction in the LLVM IR between front and back end (VCVT on ARM), and a
conversion to float into that exact one then the strict double-to-float rounding: the same results on every arch
(x86_64's strict conversions were right already).
"""
import re

FLAGS = ("-frounding-math", "-ffp-exception-behavior=strict", "-Xclang", "-fexperimental-strict-floating-point")

# `%v = [tail] call double|float @llvm.experimental.constrained.[su]itofp.fN.i32(i32 X, metadata !"R", metadata !"E")`
_CONVERSION = re.compile(
    r'(?P<result>%[-\w.$]+) = (?:tail |notail )?call (?P<type>double|float) '
    r'@llvm\.experimental\.constrained\.(?P<op>[su]itofp)\.f(?:64|32)\.i32\(i32 (?P<value>[^,]+), '
    r'metadata !"(?P<rounding>[\w.]+)", metadata !"(?P<exceptions>[\w.]+)"\)(?P<attributes>[^\n]*)')
_FPTRUNC = "llvm.experimental.constrained.fptrunc.f32.f64"


def rewrite(ir: str) -> str:
    """The module's strict i32-to-float conversions as exact plain ones (a double then a strict rounding to
    float)."""
    count = 0

    def exact(m: re.Match) -> str:
        nonlocal count
        if m["type"] == "double":
            return f'{m["result"]} = {m["op"]} i32 {m["value"]} to double'
        count += 1
        double = f"%uf.exact.{count}"
        return (f'{double} = {m["op"]} i32 {m["value"]} to double\n'
                f'  {m["result"]} = call float @{_FPTRUNC}(double {double}, metadata !"{m["rounding"]}", '
                f'metadata !"{m["exceptions"]}"){m["attributes"]}')

    out = _CONVERSION.sub(exact, ir)
    if count and f"declare float @{_FPTRUNC}(" not in out:
        out += f"\ndeclare float @{_FPTRUNC}(double, metadata, metadata)\n"
    return out
