"""The driver's sub-packages are layers: a module imports only from its own layer or the layers below it, and no
two modules import each other, directly or through others. Read from the sources (every import statement, also
those inside functions), so a lazy import cannot hide a cycle."""
import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "toolchain" / "uniforge"
# Bottom to top. "api" is the Python API the command line and the pytest plugin are made of; "testing" drives
# uniforge for the tests and benchmarks, "pytest_plugin" is the plugin; "uniforge" is the package itself (it
# exports the API); "__main__" runs the command line.
LAYERS = ["core", "building", "packaging", "running", "platforms", "bench", "api", "cli", "testing", "pytest_plugin",
          "uniforge", "__main__"]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "uniforge"


def is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """The uniforge modules a file imports (a package's submodule where `from PACKAGE import NAME` names one)."""
    own = module_name(path)
    package = own if path.name == "__init__.py" else own.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                found.add(f"{source}.{alias.name}" if is_module(f"{source}.{alias.name}") else source)
    return {name for name in found if name == "uniforge" or name.startswith("uniforge.")}


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports(path) - {module_name(path)} for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_is_in_a_layer():
    assert {layer(m) for m in graph()} <= set(LAYERS)


def test_imports_follow_the_layer_order():
    upward = [f"{module} (layer {layer(module)}) imports {imported} (layer {layer(imported)})"
              for module, deps in graph().items() for imported in sorted(deps)
              if LAYERS.index(layer(imported)) > LAYERS.index(layer(module))]
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A path of imports that comes back to where it started, if there is one."""
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> list[str] | None:
        if state.get(module) == "visiting":
            return path[path.index(module):] + [module]
        if state.get(module) == "done":
            return None
        state[module] = "visiting"
        for imported in sorted(edges.get(module, ())):
            if found := visit(imported, path + [module]):
                return found
        state[module] = "done"
        return None

    return next((found for module in sorted(edges) if (found := visit(module, []))), None)


def test_no_import_cycles():
    found = cycle(graph())
    assert found is None, "import cycle: " + " -> ".join(found or [])


def test_the_checks_see_lazy_imports_and_cycles():
    """Both checks can fail: an import inside a function counts, and a cycle through three modules is found."""
    assert "uniforge.building.pipeline" in imports(PACKAGE / "api" / "app.py")      # imported in a function
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_importing_uniforge_loads_no_command_line_library():
    """`import uniforge` (the API) loads neither click, rich nor lief, nor the build pipeline's jinja2 and pyelftools,
    nor QMP: each is imported where it is used (bench/api_overhead.py measures the import's time)."""
    heavy = ("click", "rich", "lief", "jinja2", "elftools", "qemu")
    code = f"import sys, uniforge; print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(heavy)!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=str(PACKAGE.parent)))
    assert done.stdout.strip() == "[]", done.stdout


def test_the_apis_names_and_modules_resolve_when_first_used():
    """uniforge.api imports each name from its module on first use: every name in __all__ is there, and a module
    of the API is reachable by its name (the pytest plugin calls api.host.target_info)."""
    code = ("import importlib, uniforge, uniforge.api as api\n"
            "for name in api.__all__:\n"
            "    assert getattr(uniforge, name) is getattr(importlib.import_module(f'uniforge.api.{api._MODULES[name]}'),"
            " name), name\n"
            "assert api.host.target_info and api.image.Image is api.Image\n"
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(PACKAGE.parent)))
    assert done.stdout == "ok\n", done.stderr
