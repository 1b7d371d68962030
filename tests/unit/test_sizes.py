"""The one size parser: uniforge.toml's memory, target files, `uniforge run --mem`, `uniforge disk create --size`."""
import pytest

from uniforge.core import sizes
from uniforge.core.errors import RunError


@pytest.mark.parametrize("text, size", [("64M", 64 << 20), ("1G", 1 << 30), ("1536K", 1536 << 10), ("2m", 2 << 20),
                                        ("512k", 512 << 10), (" 64M ", 64 << 20)])
def test_sizes(text, size):
    assert sizes.parse(text) == size
    assert sizes.check(text, "--mem", RunError) == size
    assert sizes.kib(text) == size >> 10 and sizes.mib(text) == size >> 20


@pytest.mark.parametrize("text", ["", "64", "0M", "1.5G", "64MB", "-1M", "M", "64 M", "1T"])
def test_not_sizes_are_one_line_errors(text):
    assert sizes.parse(text) is None
    with pytest.raises(RunError) as e:
        sizes.check(text, "--mem", RunError)
    assert e.value.message == f"--mem: '{text}' is not a size like 64M or 1G"
    with pytest.raises(ValueError):
        sizes.mib(text)


def test_kib_rounds_down_to_mib():
    assert sizes.mib("1536K") == 1 and sizes.mib("1023K") == 0
