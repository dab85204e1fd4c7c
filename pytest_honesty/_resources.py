"""Locate the data folders (templates/, honeset_cases/) in a wheel or a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["data_dir"]


def data_dir(name: str) -> Path:
    """Return the folder ``name`` shipped with the package.

    A wheel carries it as ``pytest_honesty/_data/<name>``; an editable install or
    a plain checkout finds it at the top of the repository instead.
    """
    packaged = Path(str(resources.files("pytest_honesty"))) / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"pytest-honesty's data folder {name!r} is missing from the installation "
        f"(looked in {packaged} and {checkout}); reinstall the package"
    )
