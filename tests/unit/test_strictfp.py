"""The libc's math under strict floating point (strictfp.py): clang's strict i32-to-float conversions become the
exact plain one in the IR, and what comes out is code the back end accepts."""
import re

from uniforge.building import strictfp
from uniforge.building.compiler import CompileJob, Toolchain

SOURCE = """
double to_double(int i) { return i; }
double from_unsigned(unsigned u) { return u; }
float to_float(int i) { return i; }
double quotient(double x) { return 0 / x; }
"""


def test_conversions_become_exact_and_float_rounding_stays_strict():
    ir = ('  %9 = tail call double @llvm.experimental.constrained.sitofp.f64.i32(i32 0, metadata !"round.dynamic", '
          'metadata !"fpexcept.strict") #3\n'
          '  %x = call float @llvm.experimental.constrained.uitofp.f32.i32(i32 %4, metadata !"round.dynamic", '
          'metadata !"fpexcept.strict") #3\n')
    assert strictfp.rewrite(ir) == (
        '  %9 = sitofp i32 0 to double\n'
        '  %uf.exact.1 = uitofp i32 %4 to double\n'
        '  %x = call float @llvm.experimental.constrained.fptrunc.f32.f64(double %uf.exact.1, '
        'metadata !"round.dynamic", metadata !"fpexcept.strict") #3\n'
        '\ndeclare float @llvm.experimental.constrained.fptrunc.f32.f64(double, metadata, metadata)\n')


def test_other_constrained_operations_are_left_alone():
    ir = ('  %5 = call double @llvm.experimental.constrained.fdiv.f64(double 0.0, double %0, '
          'metadata !"round.dynamic", metadata !"fpexcept.strict") #3\n')
    assert strictfp.rewrite(ir) == ir


def test_arm_code_converts_with_vcvt_and_divides_at_run_time(tmp_path):
    source = tmp_path / "convert.c"
    source.write_text(SOURCE)
    toolchain = Toolchain("arm-linux-musleabihf", "cortex_a15", hosted=True)
    args = (*toolchain.target_args(), "-O2", "-marm", *strictfp.FLAGS)
    assembly = tmp_path / "convert.s"
    toolchain.compile(CompileJob(source, tmp_path / "convert.o", args, strictfp.rewrite))
    toolchain.compile(CompileJob(source, assembly, (*args, "-S"), strictfp.rewrite))
    text = assembly.read_text()
    # No (2^52 + x) - 2^52: 0x43300000 is 2^52's high word (17200 << 16 as movt writes it).
    assert "#17200" not in text and "1127219200" not in text
    assert re.search(r"vcvt\.f64\.s32", text) and re.search(r"vcvt\.f64\.u32", text)
    assert re.search(r"vcvt\.f32\.f64", text)          # int to float: exact to double, then rounded strictly
    assert "vdiv.f64" in text                          # 0/x kept: it raises INVALID for x = 0
