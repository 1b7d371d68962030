"""The docs stay true to the tree: the README's tour lists every library-OS module with the summary its module.toml
gives, and the paths the docs name exist in the repository (none outside it)."""
import re
from pathlib import Path

import pytest

from uniforge.building import modules

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["README.md", "libos/README.md", "bench/README.md", "docs/architecture.md", "docs/api.md", "docs/json.md",
        "docs/testing.md", "docs/ci.md", "tests/conformance/README.md"]
TOP = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")}
PACKAGE = ROOT / "toolchain" / "uniforge"
LAYERS = {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("_")}
# A row of the README's module table: | part | `name` | summary |
MODULE_ROW = re.compile(r"^\|[^|]*\| `([a-z0-9-]+)` \| (.+) \|$", re.MULTILINE)


def test_the_readme_lists_every_module_with_its_summary():
    listed = dict(MODULE_ROW.findall((ROOT / "README.md").read_text()))
    wanted = {name: m.summary for name, m in modules.load_all().items()}
    missing = sorted(set(wanted) - set(listed))
    gone = sorted(set(listed) - set(wanted))
    changed = sorted(name for name in set(wanted) & set(listed) if listed[name] != wanted[name])
    rows = "\n".join(f"| | `{name}` | {wanted[name]} |" for name in missing + changed)
    assert not (missing or gone or changed), (
        f"README.md's module table: missing {missing}, no such module {gone}, summary changed {changed}; "
        f"the rows as module.toml has them:\n{rows}")


@pytest.mark.parametrize("doc", DOCS)
def test_the_paths_a_doc_names_exist_in_the_repository(doc):
    text = (ROOT / doc).read_text()
    assert "../" not in text, f"{doc} sends readers outside the repository"
    missing = []
    for quoted in re.findall(r"`([^`\s]+)`", text):
        path = quoted.split(":")[0].rstrip(".,")
        first = path.split("/")[0]
        if "/" not in path or re.search(r"[<>{}*]|NAME|TARGET", path):
            continue                            # not a path, or a pattern (libos/<module>/, targets/*.toml)
        base = ROOT if first in TOP else PACKAGE if first in LAYERS else None
        if base is not None and not (base / path).exists():
            missing.append(quoted)
    assert not missing, f"{doc} names paths that do not exist: {missing}"
