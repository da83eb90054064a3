"""The `cilium-lab` command line: one module per verb, named verb_<verb>.py (`restore-host` in
verb_restore_host.py), each with `register(subparsers)`.

Errors the user can act on (`LabError`) print as one line on stderr and exit with the error's
`exit_code` (2 for bad input; 3 when the cluster stopped us, e.g. a live change lease); anything else
is a bug and keeps its traceback. A verb that changes the cluster returns its report's exit code (5 rolled
back, 6 unfinished, 130/143 interrupted).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cilium_lab import __version__
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
    "recover",
    "unlock",
    "bench",
    "local",
    "sim",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cilium-lab", description="A tuning lab for Cilium.")
    parser.add_argument("--version", action="version", version=f"cilium-lab {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    for verb in VERBS:
        importlib.import_module(f"cilium_lab.cli.verb_{verb.replace('-', '_')}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LabError as err:
        print(f"cilium-lab: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("cilium-lab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
