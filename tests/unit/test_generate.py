"""Generated code (templates/ through generate.render): the escapes it relies on, the init table, the symbols
the pipeline reads from the compiled template instead of listing them, and how calls reach the library OS."""
import pytest

from uniforge.building import modules, targets
from uniforge.building.compiler import CompileJob, Toolchain
from uniforge.building.elfsyms import object_symbols
from uniforge.building.generate import (c_string, linker_script_entry, linker_script_symbols, quoted_string,
                                        render)
from uniforge.building.modules import CompiledModule, Module
from uniforge.building.pipeline import _init_table_symbols, _syscall_calls, library_os


@pytest.mark.parametrize("text, literal", [("plain", '"plain"'), ('q"uote\\', '"q\\042uote\\134"'),
                                           ("é\n", '"\\303\\251\\012"'), ("??=", '"\\077\\077="')])
def test_c_string_escapes_everything_but_printable_ascii(text, literal):
    assert c_string(text) == literal


def test_quoted_string_refuses_control_characters():
    assert quoted_string('a "b" \\c') == '"a \\"b\\" \\\\c"'
    with pytest.raises(ValueError, match="control character"):
        quoted_string("line\nbreak")


def test_linker_script_symbols():
    script = "a = .;\nPROVIDE(b = 1);\nPROVIDE_HIDDEN( c = a );\nif (x == y) d=2;\n. = ALIGN(8);\n"
    assert linker_script_symbols(script) == {"a", "b", "c", "d"}


def test_linker_script_entry():
    assert linker_script_entry("/* ENTRY(not_this) */\nENTRY( start_here )\nSECTIONS {}\n") == "start_here"
    assert linker_script_entry("SECTIONS {}\n") is None


@pytest.mark.parametrize("name", targets.names())
def test_every_targets_entry_is_a_modules_contract(name):
    """The entry the linker script names is declared in a public header: the module boundary keeps it global."""
    target = targets.load(name)
    script = render(target.linker_script, app_name="app", cxx=False,
                    position_independent=target.compiler.position_independent)
    entry = linker_script_entry(script)
    assert entry and entry in modules.public_names(modules.load_all())


def module(name, init=None, exit=None):
    return Module(name=name, summary="", version="1", sources={}, folder=None, init=init, exit=exit)


def test_init_table_calls_init_functions_in_the_given_order():
    text = render("init.c.j2", app_name="app", target="t", cmdline='X="1"', syscall_names=["read", ""],
                  modules=[module("mem", "uf_mem_init"), module("fd"), module("fat", "uf_fat_init")], descriptors=64)
    body = text[text.index("void uf_modules_init(void)"):]
    assert body.index("uf_mem_init();") < body.index("uf_fat_init();") and "fd" not in body.split("}")[0]
    assert 'uf_builtin_cmdline[] = "X=\\0421\\042";' in text
    assert "uf_syscall_name_count = 2;" in text
    assert "const int uf_fd_max = 64;" in text and "struct uf_file *uf_fd_table[64];" in text


def test_exit_functions_run_in_the_reverse_order_and_only_where_a_module_has_one():
    """A module's exit runs before those of the modules it depends on; without any, the table defines no
    uf_modules_exit (module process's weak reference then calls nothing, and hello stays its size)."""
    text = render("init.c.j2", app_name="app", target="t", cmdline="", syscall_names=[], descriptors=64,
                  modules=[module("fd"), module("vfs", exit="uf_vfs_sync_all"), module("net"),
                           module("socket", exit="uf_socket_exit")])
    body = text[text.index("void uf_modules_exit(void)\n"):]
    assert body.index("uf_socket_exit();") < body.index("uf_vfs_sync_all();")
    plain = render("init.c.j2", app_name="app", target="t", cmdline="", syscall_names=[], descriptors=64,
                   modules=[module("mem", "uf_mem_init")])
    assert "uf_modules_exit" not in plain


@pytest.fixture(scope="module")
def x86():
    target = targets.load("qemu-x86_64")
    toolchain = Toolchain.for_target(target)
    return target, toolchain, library_os(target, toolchain).args


def test_init_table_symbols_are_read_from_the_compiled_template(x86, tmp_path):
    """What the pipeline counts as defined before the init table exists is what a real one defines: the template
    without modules compiles to the same global symbols as one with modules and syscall names."""
    target, toolchain, args = x86
    provided = _init_table_symbols(toolchain, target, args)
    assert "uf_modules_init" in provided and "uf_app_name" in provided
    real = tmp_path / "init.c"
    real.write_text(render("init.c.j2", app_name="hello", target=target.name, cmdline="A=b",
                           modules=[module("mem", "uf_mem_init")], syscall_names=["read", "write"],
                           descriptors=1024))
    toolchain.compile(CompileJob(real, tmp_path / "init.o", tuple(args)))
    symbols = object_symbols(tmp_path / "init.o")
    assert set(symbols["defined"]) == provided
    assert symbols["undefined"] == ["uf_mem_init"]          # what the modules define, not the table


def test_syscall_calls_of_a_threaded_image_that_links_pthread_cancel(x86, tmp_path):
    """Every uf_sys_* function gets an interrupts-off wrapper (ld --wrap) and every cancellation point a wrapper
    through the libc's check; the file compiles with the library OS's flags."""
    target, toolchain, args = x86
    chosen = [CompiledModule(module("fd"), (), frozenset({"uf_sys_read", "uf_sys_close", "uf_fd_get"}), frozenset())]
    calls = _syscall_calls(chosen, threaded=True, cancellable=True)
    assert calls.wrapped == ("uf_sys_close", "uf_sys_read") and calls.cancel_points == ("close", "read")
    assert calls.link_args(tmp_path) == ["--wrap=uf_sys_close", "--wrap=uf_sys_read"]
    objects = calls.objects(toolchain, tmp_path, "app", args)
    symbols = object_symbols(objects[0])
    assert {"__wrap_uf_sys_read", "uf_cp_read", "uf_cp_close"} <= set(symbols["defined"])
    assert {"__real_uf_sys_read", "__uf_syscall_cp", "uf_sys_read"} <= set(symbols["undefined"])
    close = (tmp_path / "syscall_calls.c").read_text()
    assert "__uf_syscall_cp(uf_sys_close, 1," in close and "__uf_syscall_cp(uf_sys_read, 0," in close


def test_syscall_calls_of_a_single_threaded_image_are_the_functions_themselves(tmp_path):
    """No generated code: each cancellation point's call is the syscall's function, by a PROVIDE of a second linker
    script (which, unlike --defsym, keeps nothing that is not called)."""
    chosen = [CompiledModule(module("fd"), (), frozenset({"uf_sys_read", "uf_sys_enosys"}), frozenset())]
    calls = _syscall_calls(chosen, threaded=False, cancellable=False)
    assert calls.objects(None, tmp_path, "app", []) == []
    assert calls.link_args(tmp_path) == [str(tmp_path / "cancel_points.ld")]
    assert (tmp_path / "cancel_points.ld").read_text() == "PROVIDE(uf_cp_read = uf_sys_read);\n"
    threaded = _syscall_calls(chosen, threaded=True, cancellable=False)
    assert "--wrap=uf_sys_read" in threaded.link_args(tmp_path)
    assert (tmp_path / "cancel_points.ld").read_text() == "PROVIDE(uf_cp_read = __wrap_uf_sys_read);\n"


@pytest.mark.parametrize("name", ["qemu-x86_64", "qemu-armv7"])
def test_only_a_cxx_image_keeps_its_unwind_tables_where_the_unwinder_finds_them(name):
    """libunwind finds the tables through dl_iterate_phdr: PT_GNU_EH_FRAME on x86_64, PT_ARM_EXIDX (0x70000001, in
    ARMv7's in-memory program headers) for ARM EHABI. A C image discards them, as before."""
    target = targets.load(name)
    with_cxx, without = (render(target.linker_script, app_name="app", cxx=cxx,
                                position_independent=target.compiler.position_independent) for cxx in (True, False))
    discard = lambda script: script[script.index("/DISCARD/"):]     # noqa: E731
    tables = "eh_frame_hdr PT_GNU_EH_FRAME" if target.arch == "x86_64" else "LONG(0x70000001)"
    section = ".eh_frame" if target.arch == "x86_64" else ".ARM.exidx"
    assert tables in with_cxx and tables not in without
    assert "*(__lcxx_override)" in with_cxx         # libc++'s operator new, in the app's text
    assert section in discard(without) and section not in discard(with_cxx)
