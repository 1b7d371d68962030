"""Link an image with ld.lld from the target's linker-script template; the link map attributes bytes to modules."""
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .compiler import Toolchain

LINK_ARGS = ("--gc-sections", "-z", "max-page-size=4096", "-z", "norelro", "-z", "noexecstack", "--build-id=none",
             "-static", "-nostdlib", "--no-undefined")

# What ld.lld itself defines when an object refers to it: __dso_handle, the module handle that C++'s static
# destructors register with (__cxa_atexit), which a Linux link would take from crtbegin.o.
LINKER_DEFINED = frozenset({"__dso_handle"})


@dataclass(frozen=True)
class LinkInputs:
    script: Path
    objects: list[Path]             # in order: app, generated, modules (DAG order)
    archives: list[Path]            # libc


def link(toolchain: Toolchain, inputs: LinkInputs, debug_image: Path, image: Path, map_file: Path,
         target_args: list[str] = ()) -> None:
    """Two links of the same inputs: with symbols and DWARF (for backtraces and inspect), and stripped (to boot).
    `target_args`: the target's own linker flags (e.g. -pie)."""
    args = [*LINK_ARGS, *target_args, "-T", str(inputs.script), *map(str, inputs.objects), *map(str, inputs.archives)]
    toolchain.link(debug_image, [*args, f"-Map={map_file}"])
    toolchain.link(image, [*args, "--strip-all"])


# Who owns an image's bytes besides its modules, in the order `uniforge inspect` lists them. "c++": libc++,
# libc++abi and libunwind (an image with C++); "merged": constants and strings the linker merged across objects
# (lld's <internal>), and the unwind tables' index; "other": what none of the inputs brought.
APP, CXX, LIBC, COMPILER_RT = "app", "c++", "libc", "compiler-rt"
GENERATED, MERGED, OTHER = "generated", "merged", "other"
NOT_MODULES = (APP, CXX, LIBC, COMPILER_RT, GENERATED, MERGED, OTHER)


def owner_of(objects: dict[Path, str], archives: dict[Path, str]) -> Callable[[str], str]:
    """The owner of an input path of the link map: an object's (by path), an archive's for its members."""
    by_path = {str(path): owner for path, owner in objects.items()}

    def owner(path: str) -> str:
        for archive, name in archives.items():
            if path.startswith(str(archive)):
                return name
        return by_path.get(path, MERGED if path == "<internal>" else OTHER)

    return owner


# An input section line of lld's map: VMA LMA Size Align, then "object:(section)" or "archive(member):(section)".
_INPUT = re.compile(r"^\s*[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+(\S.*?):\((\S+)\)$")
_OUTPUT = re.compile(r"^\s*[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+\d+\s(\S+)$")


def bytes_by_owner(map_file: Path, owner_of, loaded: set[str], nobits: set[str]) -> dict[str, dict[str, int]]:
    """Bytes of loaded output sections per owner (owner_of(input path) -> name): {"file": n, "bss": n}."""
    sizes: dict[str, dict[str, int]] = defaultdict(lambda: {"file": 0, "bss": 0})
    section = None
    for line in map_file.read_text().splitlines()[1:]:
        if m := _OUTPUT.match(line):
            section = m.group(1)
        elif (m := _INPUT.match(line)) and section in loaded:
            size = int(m.group(1), 16)
            if size:
                sizes[owner_of(m.group(2))]["bss" if section in nobits else "file"] += size
    return dict(sizes)
