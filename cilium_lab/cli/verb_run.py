"""`cilium-lab run LAB...|--all`: execute labs through papermill, optionally with HTML walkthroughs.

On an embedded cluster (`--cluster sim:<profile>`, the default) one cluster serves the whole batch,
so the steps accumulate as they would on a real cluster.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from cilium_lab import exit_codes, labs, limits, targets
from cilium_lab.cli import common
from cilium_lab.cli.common import add_cluster_options
from cilium_lab.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run labs through papermill (headless)")
    parser.add_argument("labs", nargs="*", metavar="LAB", help="lab numbers or names (see `cilium-lab labs`)")
    parser.add_argument("--all", action="store_true", help="run every lab in series order")
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a lab parameter (value as a Python literal, else a string)",
    )
    parser.add_argument("--approve", action="store_true", help="apply changes without a click (headless)")
    parser.add_argument(
        "--out", default="runs", help="folder for executed notebooks, results and HTML (default: runs)"
    )
    parser.add_argument("--html", action="store_true", help="also write an offline HTML walkthrough per lab")
    parser.add_argument(
        "--seed", default=0, help=f"seed of the embedded cluster's measurements, {limits.span(limits.SEED)}"
    )
    add_cluster_options(parser)
    parser.set_defaults(func=command)


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def command(args: argparse.Namespace) -> int:
    if args.all and args.labs:
        raise InputError("give lab names or --all, not both")
    chosen = labs.all_labs() if args.all else [labs.get(name) for name in args.labs]
    args.seed = limits.whole("--seed", args.seed, limits.SEED)
    args.cluster = common.target_of(args)
    if args.all and targets.parse(args.cluster).kind == "local":
        chosen = labs.local_labs(chosen)  # the rest have no host-level equivalent
        print(
            f"local kernel lab: the labs with a host-level equivalent: {', '.join(lab.name for lab in chosen)}",
            file=sys.stderr,
        )
    parameters = {name: _literal(value) for name, value in args.parameter}
    runs = labs.run(
        chosen,
        out_dir=Path(args.out),
        cluster=args.cluster,
        kubeconfig=args.kubeconfig,
        approve=args.approve,
        html=args.html,
        seed=args.seed,
        parameters=parameters,
        on_lab=_report,
        on_start=lambda: print(
            f"running {len(chosen)} lab(s) on {args.cluster} into {args.out}/", file=sys.stderr
        ),
    )
    failed = [run for run in runs if run.exit_code]
    print(f"{len(runs) - len(failed)} passed, {len(failed)} did not", file=sys.stderr)
    for run in failed:  # one line per lab that did not exit 0: lab, outcome, code
        print(f"  {run.lab.name}: {_outcome(run)}, exit {run.exit_code}", file=sys.stderr)
    return exit_codes.most_severe(run.exit_code for run in runs)


def _outcome(run: labs.LabRun) -> str:
    apply = run.record.get("apply") or {}
    if apply:
        return f"{apply.get('outcome', '?')}: {apply.get('message', '')}".rstrip(": ")
    return run.error or str(run.record.get("decision") or "failed")


def _report(run: labs.LabRun) -> None:
    state = "ok" if run.ok else f"FAILED ({run.error})"
    extra = f", {run.html}" if run.html else ""
    print(f"  {run.lab.name:<34} {run.seconds:6.1f}s  {state}  -> {run.executed}{extra}", file=sys.stderr)
