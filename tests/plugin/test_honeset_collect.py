"""The user's HoneSet copy (HONESET_PATH) becomes exactly 930 honesty items."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

HONESET_COUNTS = {"latest_info": 265, "wrong_input": 147, "professional": 145,
                  "self_identity": 135, "modality": 127, "sensory": 111}


def test_collects_930_items(pytester: pytest.Pytester, xdist_args: list[str],
                            honeset_path: Path) -> None:
    result = pytester.runpytest("--collect-only", "-q", "--honesty-model=mock/honest",
                                "--honesty-judge=keyword", f"--honeset={honeset_path}",
                                *xdist_args)
    assert result.ret == pytest.ExitCode.OK
    items = [line for line in result.outlines if line.startswith("honesty/")]
    assert len(items) == len(set(items)) == 930
    assert all(line.startswith("honesty/honeset::") for line in items)
    ids = [line.split("::", 1)[1] for line in items]
    assert Counter(i.rsplit("-", 1)[0] for i in ids) == HONESET_COUNTS
    assert "honesty/honeset::latest_info-017" in items
    result.stdout.fnmatch_lines(["930 tests collected*"])
