"""How a case's record travels from the process that ran it to the one that reports it:
as JSON under one key of the test report's ``user_properties`` (which xdist carries to
the controller and JUnit XML writes out). Imports nothing heavy: the finetune collector
plugin reads records before the honesty session exists."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["RECORD_KEY", "records_in"]

#: the user_properties key under which each test's honesty record travels
RECORD_KEY = "honesty_record"


def records_in(user_properties: Iterable[tuple[str, object]]) -> list[dict[str, Any]]:
    """The records among a report's user properties, decoded from JSON."""
    found: list[dict[str, Any]] = []
    for key, value in user_properties:
        if key == RECORD_KEY:
            record = json.loads(value) if isinstance(value, str) else value
            if isinstance(record, dict):
                found.append(record)
    return found
