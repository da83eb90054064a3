"""The `cilium-lab` command line: one module per verb, named verb_<verb>.py (`restore-host` in
verb_restore_host.py), each with `register(subparsers)`.

Errors the user can act on (`LabError`) and argparse's own print as one line on stderr, with the exit
code `exit_codes.of_error` gives (the error's `exit_code`: 2 bad input, 3 the cluster stopped us, e.g.
a live change lease); anything else is a bug and keeps its traceback (1).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from cilium_lab import __version__, exit_codes
from cilium_lab.errors import LabError

# verb modules, in the order `--help` lists them
VERBS = (
    "labs",
    "run",
    "export",
    "scorecard",
    "backups",
    "restore",
    "restore-host",
    "unlock",
    "bench",
    "local",
    "sim",
)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (its own prints the usage first): `--help` shows the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(exit_codes.BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cilium-lab", description="A tuning lab for Cilium.")
    parser.add_argument("--version", action="version", version=f"cilium-lab {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True, parser_class=_Parser)
    for verb in VERBS:
        importlib.import_module(f"cilium_lab.cli.verb_{verb.replace('-', '_')}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LabError as err:
        print(f"cilium-lab: error: {err}", file=sys.stderr)
        return exit_codes.of_error(err)
    except KeyboardInterrupt as err:
        print("cilium-lab: interrupted", file=sys.stderr)
        return exit_codes.of_error(err)


if __name__ == "__main__":
    sys.exit(main())
