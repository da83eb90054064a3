"""The `cilium-lab` command line: one module per verb, named verb_<verb>.py (`restore-host` in
verb_restore_host.py), each with `register(subparsers)`.

Errors the user can act on (`LabError`) print as one line on stderr and exit with the error's
`exit_code` (2 for bad input; 3 when the cluster stopped us, e.g. a live change lease); anything else
is a bug and keeps its traceback. A verb that changes the cluster returns its report's exit code (5 rolled
back, 6 unfinished, 130/143 interrupted).
Everything printed goes through `cilium_lab.scrub`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cilium_lab import __version__, scrub
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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every verb's parser, or only the one named: a verb module imports what its command needs (pandas,
    scipy, the kubernetes client), a second of CPU that `run` and `export` have no use for."""
    parser = argparse.ArgumentParser(prog="cilium-lab", description="A tuning lab for Cilium.")
    parser.add_argument("--version", action="version", version=f"cilium-lab {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    for verb in (only,) if only in VERBS else VERBS:
        importlib.import_module(f"cilium_lab.cli.verb_{verb.replace('-', '_')}").register(sub)
    return parser


def _without_unused_iri_grammars() -> None:
    """nbformat (imported by papermill and nbconvert) imports jsonschema, which, when rfc3987-syntax is
    installed (jupyter-events' format-nongpl extra pulls it in), builds 38 lark grammars at import for
    its "iri" formats: over a second of CPU, the largest single cost of a batch's own process, for formats
    no notebook schema uses. This process treats that optional module as absent (jsonschema then skips
    those two format checks); a process that imported it already keeps it."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    with scrub.console():  # every line printed (results, warnings, errors, logs) is scrubbed of credentials
        _without_unused_iri_grammars()
        argv = list(sys.argv[1:] if argv is None else argv)
        args = build_parser(argv[0] if argv else None).parse_args(argv)
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
