"""``honesty run``: pytest with the honesty options, for people who do not write tests."""

from __future__ import annotations

import argparse
import tempfile

import pytest

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="embedded", help="model spec (default: embedded)")
    parser.add_argument("--judge", default="embedded", help="judge spec (default: embedded)")
    parser.add_argument("--report", default="honesty-report", help="report folder")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER,
                        help="further pytest arguments, e.g. --honesty-sample 30 -n 2")


def run(args: argparse.Namespace) -> int:
    # An empty folder as the only test path: the run holds the honesty cases and
    # nothing else, whatever test files the current directory has.
    with tempfile.TemporaryDirectory(prefix="honesty-run-") as empty:
        return _pytest_main(args, empty)


def _pytest_main(args: argparse.Namespace, empty: str) -> int:
    argv = [
        f"--honesty-model={args.model}",
        f"--honesty-judge={args.judge}",
        f"--honesty-report={args.report}",
        "-p", "no:cacheprovider", "--rootdir", ".",
        # this process imported pytest_honesty before pytest started; that is expected
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
        *[a for a in args.pytest_args if a != "--"],
        empty,
    ]
    return int(pytest.main(argv))
