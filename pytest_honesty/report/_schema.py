"""The published JSON Schema of the run report, generated from the typed model.

``python -m pytest_honesty.report._schema --write`` rewrites the committed
``schema/run-report.v<N>.json`` after a change to the model; without ``--write`` it
prints the schema. A test keeps the committed file equal to the generated one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._io import SCHEMA_FILE
from ._jsonmodel import json_schema
from ._model import SCHEMA_VERSION, RunReport

__all__ = ["SCHEMA_PATH", "generated_schema", "generated_schema_text", "main"]

SCHEMA_PATH = Path(__file__).parent / "schema" / SCHEMA_FILE


def generated_schema() -> dict[str, Any]:
    generated = json_schema(RunReport)
    # the field has a default for building a report, but a reader refuses a report
    # without it (RunReport.from_dict)
    generated["required"] = ["schema_version", *generated["required"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:pytest-honesty:schema:run-report:v{SCHEMA_VERSION}",
        **generated,
        "title": f"pytest-honesty run report, schema version {SCHEMA_VERSION}",
    }


def generated_schema_text() -> str:
    return json.dumps(generated_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true",
                        help=f"rewrite {SCHEMA_PATH.name} in the package instead of printing")
    args = parser.parse_args(argv)
    text = generated_schema_text()
    if args.write:
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA_PATH}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
