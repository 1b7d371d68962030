import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolchain"))     # the checkout's uniforge, also when not installed


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A private, empty build cache."""
    path = tmp_path / "cache"
    monkeypatch.setenv("UNIFORGE_CACHE", str(path))
    return path
