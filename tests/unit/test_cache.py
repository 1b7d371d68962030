import pytest

from uniforge.core import cache


def test_miss_then_hit(cache_dir):
    calls = []

    def build(folder):
        calls.append(folder)
        (folder / "out").write_text("made")

    first, cached = cache.entry("thing", cache.digest("a", "b"), build)
    assert not cached and (first / "out").read_text() == "made"
    again, cached = cache.entry("thing", cache.digest("a", "b"), build)
    assert cached and again == first and len(calls) == 1
    other, cached = cache.entry("thing", cache.digest("a", "c"), build)
    assert not cached and other != first and len(calls) == 2


def test_failed_build_leaves_nothing(cache_dir):
    def build(folder):
        (folder / "half").write_text("x")
        raise RuntimeError("compiler died")

    with pytest.raises(RuntimeError, match="compiler died"):
        cache.entry("thing", "k" * 64, build)
    assert list((cache_dir / "thing").iterdir()) == []


def test_digest_separates_parts():
    assert cache.digest("ab", "c") != cache.digest("a", "bc")


def test_hash_files_is_relative(tmp_path):
    for root in (tmp_path / "x", tmp_path / "y"):
        (root / "d").mkdir(parents=True)
        (root / "d" / "f.c").write_text("int x;")
    assert cache.hash_files((tmp_path / "x").rglob("*.c"), tmp_path / "x") == \
        cache.hash_files((tmp_path / "y").rglob("*.c"), tmp_path / "y")
    (tmp_path / "y" / "d" / "f.c").write_text("int y;")
    assert cache.hash_files((tmp_path / "x").rglob("*.c"), tmp_path / "x") != \
        cache.hash_files((tmp_path / "y").rglob("*.c"), tmp_path / "y")
