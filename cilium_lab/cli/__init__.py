"""The `cilium-lab` command line: one module per verb (`restore-host` in restore_host.py), each with
`register(subparsers)`.

Errors the user can act on (`LabError`) print as one line on stderr: exit code 3 when the cluster
stopped us before any change (`ClusterError`: unreachable, forbidden, lock held, NotReady nodes, an
unfinished change, a concurrent edit before our first write), 2 for bad input; anything else is a bug
and keeps its traceback (1). A verb that changes the cluster returns its report's exit code (README:
5 rolled back, 6 unfinished, 130/143 interrupted).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cilium_lab import __version__
from cilium_lab.errors import ClusterError, LabError

# verb modules, in the order `--help` lists them
VERBS = (
    "labs", "run", "export", "scorecard", "backups", "restore", "restore-host", "recover", "bench", "local", "sim",
)  # fmt: skip
EXIT_BAD_INPUT, EXIT_CLUSTER = 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cilium-lab", description="A tuning lab for Cilium.")
    parser.add_argument("--version", action="version", version=f"cilium-lab {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    for verb in VERBS:
        try:
            module = importlib.import_module(f"cilium_lab.cli.{verb.replace('-', '_')}")
        except ModuleNotFoundError as err:
            if err.name != f"cilium_lab.cli.{verb.replace('-', '_')}":
                raise
            continue  # verb not built yet
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LabError as err:
        print(f"cilium-lab: error: {err}", file=sys.stderr)
        return EXIT_CLUSTER if isinstance(err, ClusterError) else EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("cilium-lab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
