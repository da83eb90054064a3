"""The `cilium-lab` command line: one module per verb, named verb_<verb>.py (`restore-host` in
verb_restore_host.py), each with `register(subparsers)`.

Errors the user can act on (`LabError`) and argparse's own print as one line on stderr, with the exit
code `exit_codes.of_error` gives (the error's `exit_code`: 2 bad input, 3 the cluster stopped us, e.g.
a live change lease); anything else is a bug and keeps its traceback (1). A verb that changes the
cluster returns its report's exit code (5 rolled back, 6 unfinished, 130/143 interrupted).
Everything printed goes through `cilium_lab.scrub`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from cilium_lab import __version__, exit_codes, scrub
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


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (its own prints the usage first): `--help` shows the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(exit_codes.BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every verb's parser, or only the one named: a verb module imports what its command needs (pandas,
    scipy, the kubernetes client), a second of CPU that `run` and `export` have no use for."""
    parser = _Parser(prog="cilium-lab", description="A tuning lab for Cilium.")
    parser.add_argument("--version", action="version", version=f"cilium-lab {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True, parser_class=_Parser)
    for verb in (only,) if only in VERBS else VERBS:
        _verb_module(verb).register(sub)
    return parser


def _verb_module(verb: str) -> ModuleType:
    """The verb's module, imported only when that verb is built (plain imports, which the layer contracts see)."""
    match verb:
        case "labs":
            from cilium_lab.cli import verb_labs as module
        case "run":
            from cilium_lab.cli import verb_run as module
        case "export":
            from cilium_lab.cli import verb_export as module
        case "scorecard":
            from cilium_lab.cli import verb_scorecard as module
        case "backups":
            from cilium_lab.cli import verb_backups as module
        case "restore":
            from cilium_lab.cli import verb_restore as module
        case "restore-host":
            from cilium_lab.cli import verb_restore_host as module
        case "recover":
            from cilium_lab.cli import verb_recover as module
        case "unlock":
            from cilium_lab.cli import verb_unlock as module
        case "bench":
            from cilium_lab.cli import verb_bench as module
        case "local":
            from cilium_lab.cli import verb_local as module
        case "sim":
            from cilium_lab.cli import verb_sim as module
        case _:
            raise ValueError(f"no verb {verb!r}")
    return module


def _without_unused_iri_grammars() -> None:
    """nbformat (imported by papermill and nbconvert) imports jsonschema, which, when rfc3987-syntax is
    installed (jupyter-events' format-nongpl extra pulls it in), builds 38 lark grammars at import for
    its "iri" formats: over a second of CPU, the largest single cost of a batch's own process, for formats
    no notebook schema uses. This process treats that optional module as absent: None in sys.modules makes
    its import an ImportError, which jsonschema skips (jsonschema/_format.py, 4.26: `with
    suppress(ImportError): from rfc3987_syntax import ...`); a process that imported it already keeps it."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    # every line printed (results, warnings, errors, logs) is scrubbed of credentials
    try:
        with scrub.console():
            _without_unused_iri_grammars()
            argv = list(sys.argv[1:] if argv is None else argv)
            args = build_parser(argv[0] if argv else None).parse_args(argv)
            try:
                return int(args.func(args) or 0)
            except LabError as err:
                print(f"cilium-lab: error: {err}", file=sys.stderr)
                return exit_codes.of_error(err)
            except KeyboardInterrupt as err:
                print("cilium-lab: interrupted", file=sys.stderr)
                return exit_codes.of_error(err)
    except BrokenPipeError:  # the reader went away (`cilium-lab labs | head`): say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
