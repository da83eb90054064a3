"""`cilium-lab restore-host FILE [--node N ...] [--approve]`: put lab 15's saved host settings back.

FILE is a host backup that `change.host.apply_host` wrote before it changed the nodes
(`<results_dir>/host-backups/host-*.json`). Without --approve it reads each node through a host pod
and prints what would change, changing nothing on the hosts; with it, it restores (after saving the
nodes' current settings to a new host backup, so the restore can be undone the same way). Calls
`cilium_lab.targets.open_target` and `change.host_restore`; options from `cli.common`; registered in
`cli.VERBS` after restore. Exit codes as README's table: 0 planned, restored or already as saved; 5 a node
failed and was put back (or could not be read when planning); 6 a node's undo did not finish;
130/143 interrupted.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from cilium_lab import limits, outputs, targets
from cilium_lab.change.host import host_restore
from cilium_lab.cli import common


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "restore-host",
        help="put lab 15's saved host settings back on the nodes (plan only without --approve)",
    )
    parser.add_argument("file", metavar="FILE", help="a host backup: <results_dir>/host-backups/host-*.json")
    parser.add_argument(
        "--node",
        action="append",
        default=None,
        metavar="N",
        help="restore only this node (repeatable; default: every node in FILE)",
    )
    parser.add_argument("--approve", action="store_true", help="apply the restore (without it: plan only)")
    parser.add_argument(
        "--results-dir",
        default="runs",
        help="where the host settings before the restore are saved (default: runs)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120,
        help=f"seconds to wait for each host pod and command, {limits.span(limits.TIMEOUT)} (default: 120)",
    )
    common.add_cluster_options(parser)
    common.add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.timeout = limits.seconds("--timeout", args.timeout, limits.TIMEOUT)
    outputs.check_folder(args.results_dir, "--results-dir")
    saved = host_restore.load(args.file)  # a bad file is one line before a cluster is started
    with (
        outputs.undo_new_folders(args.results_dir),
        targets.open_target(common.target_of(args), args.kubeconfig, args.context) as target,
    ):
        report = host_restore.restore_host(
            target.connection,
            saved.path,
            approved=args.approve,
            nodes=args.node,
            timeout=args.timeout,
            results_dir=args.results_dir,
            progress=None if args.json else _progress,
        )
    if args.json:
        common.print_json(report.to_record())
    else:
        print(report.to_text())
        if report.outcome == host_restore.PLANNED:
            if any(n.outcome == host_restore.PLANNED for n in report.nodes.values()):
                nodes = "".join(f" --node {shlex.quote(n)}" for n in args.node or ())
                print(
                    f"to apply it: cilium-lab restore-host {shlex.quote(args.file)}{nodes} --approve"
                    f"{common.target_args(args)}"
                )
            else:
                print("nothing to restore: every node is as the file says")
    # also a plan that could not read a node: the user should not take "0" as "all readable"
    if report.exit_code:
        return report.exit_code
    failed = {host_restore.FAILED, host_restore.ROLLED_BACK}
    return 5 if any(n.outcome in failed for n in report.nodes.values()) else 0


def _progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr)
