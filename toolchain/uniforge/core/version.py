"""Uniforge's version: the one place it is written (pyproject.toml reads it from here, images and reports carry it)."""

__version__ = "0.1.0"
