import sys
from pathlib import Path

import pytest

# pytester runs pytest inside the tests (the uniforge plugin's own tests); it must be named in the top conftest.
pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolchain"))     # the checkout's uniforge, also when not installed


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A private, empty build cache."""
    path = tmp_path / "cache"
    monkeypatch.setenv("UNIFORGE_CACHE", str(path))
    return path
