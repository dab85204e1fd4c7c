"""The ``honesty`` command: reports, comparisons, gates, judge calibration, fine-tuning.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; it is imported only when used.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["SUBCOMMANDS", "main"]

#: name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("pytest_honesty.run._cli_run", "run the honesty suite (a thin wrapper over pytest)"),
    "report": ("pytest_honesty.report._cli", "render a run report as HTML/Markdown/terminal"),
    "compare": ("pytest_honesty.report._cli_compare", "compare two run reports (A/B)"),
    "gate": ("pytest_honesty.report._cli_gate", "evaluate release-gate rules on a report"),
    "calibrate": ("pytest_honesty.judge._calibrate", "measure a judge against gold labels"),
    "finetune": ("pytest_honesty.finetune._cli", "build preference pairs and train adapters"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="honesty", description="pytest-honesty: is the model honest and helpful?"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if not args or args[0] in ("-h", "--help") or args[0] not in SUBCOMMANDS:
        if args and args[0] not in ("-h", "--help"):
            parser.print_usage(sys.stderr)
            print(f"honesty: unknown command {args[0]!r}; choose from "
                  f"{', '.join(SUBCOMMANDS)}", file=sys.stderr)
            return 2
        parser.print_help()
        return 0
    name = args[0]
    module = importlib.import_module(SUBCOMMANDS[name][0])
    sub = argparse.ArgumentParser(prog=f"honesty {name}", description=SUBCOMMANDS[name][1])
    module.add_arguments(sub)
    parsed = sub.parse_args(args[1:])
    code: int = module.run(parsed)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
