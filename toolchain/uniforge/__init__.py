"""Uniforge: links a C app with only the library-OS modules it needs into a bootable unikernel image."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("uniforge")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.1.0"
