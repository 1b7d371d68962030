"""The build pipeline end to end: reproducibility, caching, and clear errors for user mistakes."""
import json
import os
import subprocess
import sys
import venv

import pytest

from conftest import ROOT, copy_example, one_per_arch, uniforge
from uniforge.core.errors import ExitCode


@pytest.mark.parametrize("target", ["qemu-x86_64", "qemu-armv7"])
def test_two_builds_are_byte_identical(tmp_path, target):
    """Built in two folders: the bootable image, its zImage form and even the debug image are the same bytes (httpd:
    an app with an embedded tree, whose object the build assembles in the app's folder)."""
    outputs = []
    for where in ("one", "two/deeper"):
        folder = copy_example("httpd", tmp_path / where)
        uniforge("build", "-t", target, cwd=folder, check=True)
        outputs.append({p.name: p.read_bytes() for p in (folder / "build").glob("httpd.*")})
    assert outputs[0].keys() == outputs[1].keys() and f"httpd.{target}" in outputs[0]
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], f"{name} differs between two builds"


def dwarf_folders(image) -> set[str]:
    """Every folder and compilation unit the image's DWARF names."""
    from elftools.elf.elffile import ELFFile
    with open(image, "rb") as f:
        dwarf = ELFFile(f).get_dwarf_info()
        names = set()
        for cu in dwarf.iter_CUs():
            names.add(cu.get_top_DIE().get_full_path())
            names.update(d.decode() for d in dwarf.line_program_for_CU(cu)["include_directory"])
    return names


@pytest.mark.parametrize("target", one_per_arch("boots"))
def test_debug_image_names_no_folder_of_this_machine(tmp_path, target):
    """DWARF names files by fixed roots (., libos, musl, musl-headers, zig), also when the build runs from the
    folder that holds the compiler (the checkout with its .venv), whose paths zig would write relative to it."""
    folder = copy_example("hello", tmp_path)
    uniforge("build", "-t", target, "-C", str(folder), cwd=ROOT, check=True)
    roots = {".", "build", "libos", "musl", "musl-build", "musl-headers", "zig"}
    for name in dwarf_folders(folder / f"build/hello.{target}.dbg"):
        assert name.split("/")[0] in roots, f"DWARF names {name!r}"


def test_warm_rebuild_compiles_only_the_app(tmp_path):
    folder = copy_example("hello", tmp_path)
    uniforge("build", cwd=folder, check=True)
    (folder / "main.c").write_text((folder / "main.c").read_text().replace("Hello, world!", "Hello again!"))
    report = json.loads(uniforge("build", "--json", cwd=folder, check=True).stdout)
    # Everything but the app comes from the cache (how long that takes is the benchmark's business).
    assert report["cached"] == {"library OS": True, "libc": True, "compiler-rt": True}
    proc = uniforge("run", "build/hello.qemu-x86_64", "--timeout", "30", cwd=folder)
    assert "Hello again!" in proc.stdout


def test_out_dir_takes_the_image_and_what_goes_beside_it(tmp_path):
    """`uniforge build -o DIR` (CI writes artifacts where it wants them): the image, its debug twin, its raw form
    and deployment files go to DIR; the app's own build/ is not made; the image there boots."""
    folder = copy_example("hello", tmp_path)
    out = tmp_path / "artifacts"
    report = json.loads(uniforge("build", "--json", "-t", "xen-armv7", "-o", str(out), cwd=folder, check=True).stdout)
    assert report["image"] == str(out / "hello.xen-armv7")
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {
        "hello.xen-armv7", "hello.xen-armv7.dbg", "hello.xen-armv7.zImage", "hello.xen-armv7.xl.cfg",
        "hello.xen-armv7.dom0less.dtsi"}
    assert not (folder / "build").exists()
    uniforge("build", "-t", "qemu-x86_64", "--out-dir", "../elsewhere", cwd=folder, check=True)
    proc = uniforge("run", str(tmp_path / "elsewhere" / "hello.qemu-x86_64"), "--timeout", "30", "--", "x")
    assert proc.returncode == 0 and "argv[1] = x" in proc.stdout, proc.stdout + proc.stderr


def test_build_report_json(tmp_path):
    folder = copy_example("hello", tmp_path)
    report = json.loads(uniforge("build", "--json", cwd=folder, check=True).stdout)
    assert report["image_bytes"] == (folder / "build/hello.qemu-x86_64").stat().st_size
    assert report["manifest"]["target"] == "qemu-x86_64"
    assert set(report["manifest"]["sources"]) == {"main.c"}


def one_line_error(proc, code: ExitCode) -> str:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("uniforge: error: ")
    return proc.stderr


def test_broken_manifest_is_one_clear_line(tmp_path):
    folder = copy_example("hello", tmp_path)
    (folder / "uniforge.toml").write_text('name = "hello"\nsources = ["main.c", "gone.c"]\n')
    err = one_line_error(uniforge("build", cwd=folder), ExitCode.MANIFEST)
    assert "uniforge.toml" in err and "'sources'" in err and "gone.c" in err


@pytest.mark.parametrize("entry", ["ABSOLUTE", "../shared/helper.c", "../shared/*.c"])
def test_source_outside_the_app_folder(tmp_path, entry):
    """A source beside the app's folder, named by an absolute path, a relative one or a glob, builds; the image
    names it relative to the app (../shared/helper.c), in its manifest and DWARF."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "helper.c").write_text("int helper(int x) { return x + 1; }\n")
    folder = copy_example("hello", tmp_path)
    (folder / "main.c").write_text("int helper(int);\nint main(void) { return helper(41); }\n")
    entry = str(shared / "helper.c") if entry == "ABSOLUTE" else entry
    (folder / "uniforge.toml").write_text(f'name = "hello"\nsources = ["main.c", "{entry}"]\n')
    proc = uniforge("run", "--timeout", "30", cwd=folder)
    assert proc.returncode == 42, proc.stdout + proc.stderr
    info = json.loads(uniforge("inspect", "--json", "build/hello.qemu-x86_64", cwd=folder, check=True).stdout)
    assert set(info["sources"]) == {"main.c", "../shared/helper.c"}
    assert "../shared" in dwarf_folders(folder / "build/hello.qemu-x86_64.dbg")


def test_missing_absolute_source_is_one_line(tmp_path):
    folder = copy_example("hello", tmp_path)
    (folder / "uniforge.toml").write_text(f'name = "hello"\nsources = ["main.c", "{tmp_path}/nowhere/x.c"]\n')
    err = one_line_error(uniforge("build", cwd=folder), ExitCode.MANIFEST)
    assert "'sources'" in err and "nowhere/x.c" in err


def test_unknown_target_is_clear(tmp_path):
    folder = copy_example("hello", tmp_path)
    err = one_line_error(uniforge("build", "-t", "qemu-riscv", cwd=folder), ExitCode.TARGET)
    assert "unknown target 'qemu-riscv'" in err


def test_undefined_symbol_names_it_and_its_user(tmp_path):
    folder = copy_example("hello", tmp_path)
    (folder / "main.c").write_text("int helper(int);\nint main(void) { return helper(1); }\n")
    err = one_line_error(uniforge("build", cwd=folder), ExitCode.RESOLVE)
    assert "'helper'" in err and "main.c" in err


@pytest.mark.parametrize("target", ["qemu-x86_64", "qemu-armv7"])
@pytest.mark.parametrize("symbol, owner", [("uf_tcp_output", "net"), ("uf_fat_get", "fat")])
def test_a_modules_private_function_is_out_of_reach(tmp_path, target, symbol, owner):
    """The module boundary: TCP's output and FAT's table reader are global in their modules' sources, local in the
    modules' pre-linked objects: an app that calls one pulls nothing in and is told whose it is, in one line."""
    folder = copy_example("hello", tmp_path)
    (folder / "main.c").write_text(f"int {symbol}(void *);\nint main(void) {{ return {symbol}(0); }}\n")
    err = one_line_error(uniforge("build", "-t", target, cwd=folder), ExitCode.RESOLVE)
    assert err.splitlines()[0] == (f"uniforge: error: undefined symbol '{symbol}', needed by app main.c: module "
                                   f"'{owner}' keeps it private (no public header declares it)")


def test_compile_error_shows_the_compiler(tmp_path):
    folder = copy_example("hello", tmp_path)
    (folder / "main.c").write_text("int main(void) { return nope; }\n")
    err = one_line_error(uniforge("build", cwd=folder), ExitCode.COMPILE)
    assert "main.c" in err and "nope" in err


def test_run_of_a_file_that_is_not_an_image(tmp_path):
    (tmp_path / "junk").write_bytes(b"\x7fELF garbage")
    err = one_line_error(uniforge("run", str(tmp_path / "junk")), ExitCode.IMAGE)
    assert "junk" in err


def test_new_scaffolds_an_app_that_boots(tmp_path):
    uniforge("new", "demo", cwd=tmp_path, check=True)
    proc = uniforge("run", "--timeout", "30", "--", "x", cwd=tmp_path / "demo")
    assert proc.returncode == 0 and "Hello from demo!" in proc.stdout and "argv[1] = x" in proc.stdout
    assert uniforge("new", "demo", cwd=tmp_path).returncode == ExitCode.USER_ERROR      # never overwrites


def test_wheel_in_a_fresh_venv_builds_and_boots_hello(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", ROOT],
                   check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("uniforge-*.whl"))
    venv.create(tmp_path / "venv", with_pip=True)
    py = tmp_path / "venv/bin/python"
    subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel], check=True,
                   capture_output=True)
    folder = copy_example("hello", tmp_path / "app")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([tmp_path / "venv/bin/uniforge", "run", "--timeout", "30", "--", "wheel"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Hello, world!" in proc.stdout and "argv[1] = wheel" in proc.stdout
    # It used the data inside the wheel, not this checkout.
    where = subprocess.run([py, "-c", "from uniforge.core.paths import data_root; print(data_root())"],
                           capture_output=True, text=True, env=env, cwd=tmp_path).stdout
    assert "site-packages" in where
