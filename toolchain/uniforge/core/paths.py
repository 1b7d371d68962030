"""Where uniforge's data (libos/, targets/, templates/) and its cache live, and how to run uniforge itself."""
import os
import sys
from functools import cache
from pathlib import Path


@cache
def data_root() -> Path:
    """The folder holding libos/, targets/ and templates/: inside the installed wheel, or the checkout's top."""
    installed = Path(__file__).parents[1] / "_data"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[3]


def libos_dir() -> Path:
    return data_root() / "libos"


def targets_dir() -> Path:
    return data_root() / "targets"


def templates_dir() -> Path:
    return data_root() / "templates"


def cache_root() -> Path:
    """UNIFORGE_CACHE, else $XDG_CACHE_HOME/uniforge, else ~/.cache/uniforge."""
    if env := os.environ.get("UNIFORGE_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "uniforge"


def uniforge_command(*args: str) -> list[str]:
    """The `uniforge` command line, run by this Python (with uniforge_environment)."""
    return [sys.executable, "-m", "uniforge", *args]


def uniforge_environment(**extra: str) -> dict[str, str]:
    """The environment for a child `uniforge`: this one, with this uniforge first on the module path."""
    here = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, **extra)
