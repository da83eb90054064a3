"""`cilium-lab recover [--approve]`: find changes that did not finish, and with --approve finish their undo.

It reads the journals left open in the cluster (`cilium-lab-journal-<run>` ConfigMaps) and under
`--results-dir` (default runs), and says per run what it found: which change, which steps were done,
the backup it undoes to, whether its process is alive. With --approve it puts each dead run's backup
back, rolls out and verifies (`change.recovery`). Exit codes: 0 nothing to recover or every run
recovered and verified; 3 a run's process is still alive (left alone); 6 a run was found and not
recovered (without --approve), or its recovery failed.
"""

from __future__ import annotations

import argparse
import sys

from cilium_lab import limits, outputs, targets
from cilium_lab.change import outcomes, recovery, transaction
from cilium_lab.cli import common
from cilium_lab.cluster import discover


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "recover", help="find changes that did not finish (a killed run); --approve finishes their undo"
    )
    parser.add_argument(
        "--approve", action="store_true", help="finish the undo (without it: say what was found)"
    )
    parser.add_argument(
        "--results-dir", action="append", default=None, metavar="DIR",
        help="where runs keep their journals (repeatable; default: runs)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout",
        default=300,
        help=f"seconds to wait for the agents, {limits.span(limits.TIMEOUT)} (default: 300)",
    )
    common.add_cluster_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.timeout = limits.seconds("--timeout", args.timeout, limits.TIMEOUT)
    folders = [outputs.check_folder(d, "--results-dir") for d in args.results_dir or ["runs"]]
    with targets.open_target(common.target_of(args), args.kubeconfig, args.context) as target:
        conn = target.connection
        namespace = discover.find(conn).namespace
        found = recovery.find(conn, namespace, folders)
        if not found:
            print(
                "nothing to recover: no unfinished change in the cluster or under "
                + ", ".join(map(str, folders))
            )
            return 0
        print(f"{len(found)} unfinished change(s):")
        for entry in found:
            print(entry.describe())
        if not args.approve:
            print(f"to finish their undo: cilium-lab recover --approve{common.target_args(args)}")
            return transaction.EXIT_UNFINISHED
        codes = []
        for entry in found:
            done = recovery.finish(
                conn, namespace, entry, say=_progress, timeout=args.timeout, results_dir=folders[0]
            )
            print(f"run {done.run}: {done.outcome} - {done.message}")
            codes.append(
                0
                if done.outcome == outcomes.ROLLED_BACK
                else 3
                if "alive" in done.message
                else transaction.EXIT_UNFINISHED
            )
    return max(codes)


def _progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr)
