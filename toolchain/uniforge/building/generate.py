"""Everything generated for a build comes from jinja2 templates in templates/: linker scripts, the init table, the
libc's syscall switch."""
import re
from functools import cache

import jinja2

from ..core.paths import templates_dir


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir()), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["cstring"] = c_string
    env.filters["xlstring"] = quoted_string
    env.filters["dtstring"] = quoted_string
    return env


def c_string(text: str) -> str:
    """A C string literal: printable ASCII as is, every other byte (UTF-8) as a 3-digit octal escape."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        out.append(char if 0x20 <= byte < 0x7f and char not in '"\\?' else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def quoted_string(text: str) -> str:
    """A double-quoted string for xl configs and device-tree sources (both read C-style escapes). Control
    characters cannot be written in either: an error rather than a config that means something else."""
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in text):
        raise ValueError(f"{text!r} contains a control character")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(template: str, **values) -> str:
    return _environment().get_template(template).render(**values)


_ASSIGNMENT = re.compile(r"(?:PROVIDE(?:_HIDDEN)?\(\s*)?\b([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)")


def linker_script_symbols(script: str) -> set[str]:
    """Symbols a linker script defines (every `name = ...` and PROVIDE(name = ...))."""
    return set(_ASSIGNMENT.findall(script))


_ENTRY = re.compile(r"^\s*ENTRY\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)", re.M)


def linker_script_entry(script: str) -> str | None:
    """The symbol a linker script's ENTRY() names (the linker only warns when it is missing)."""
    m = _ENTRY.search(script)
    return m.group(1) if m else None
