"""`cilium-lab restore STAMP [--from-file PATH] [--approve] [--other-cluster]`: put a backup's Cilium config back.

Without --approve it prints the plan (what changes, which agents restart) and changes nothing. A backup
taken on another cluster is refused unless --other-cluster says so explicitly. Calls
`cilium_lab.targets.open_target`, `cluster.discover` and `change.restore` (`find`, `restore_backup`);
options from `cli.common`. Exit codes as README's table: 0 planned, restored or already equal; 5 the
restore failed and the config before it is back, verified; 6 that undo did not finish; 130/143 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from cilium_lab import limits, outputs, targets
from cilium_lab.change.backups import restoring as restore
from cilium_lab.cli import common
from cilium_lab.cluster import discover
from cilium_lab.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "restore", help="put the Cilium config back as a backup had it (plan only without --approve)"
    )
    parser.add_argument(
        "stamp", nargs="?", default="", metavar="STAMP", help="the backup (see `cilium-lab backups`)"
    )
    parser.add_argument(
        "--from-file",
        default="",
        metavar="PATH",
        help="restore from <results_dir>/backups/<stamp>-cilium-config.json (when the backup ConfigMap is gone)",
    )
    parser.add_argument("--approve", action="store_true", help="apply the restore (without it: plan only)")
    parser.add_argument(
        "--results-dir",
        default="runs",
        help="where the backup of the state before the restore goes (default: runs)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300,
        help=f"seconds to wait for the agents, {limits.span(limits.TIMEOUT)} (default: 300)",
    )
    parser.add_argument(
        "--allow-not-ready", action="store_true", help="skip agents on NotReady nodes instead of refusing"
    )
    parser.add_argument(
        "--other-cluster",
        action="store_true",
        help="restore a backup taken on another cluster here, deliberately (refused without it)",
    )
    common.add_cluster_options(parser)
    common.add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.stamp and not args.from_file:
        raise InputError("give the backup's STAMP (see `cilium-lab backups`) or --from-file PATH")
    args.timeout = limits.seconds("--timeout", args.timeout, limits.TIMEOUT)
    outputs.check_folder(args.results_dir, "--results-dir")
    with (
        outputs.undo_new_folders(args.results_dir),
        targets.open_target(common.target_of(args), args.kubeconfig, args.context) as target,
    ):
        conn = target.connection
        install = discover.find(conn)
        saved = restore.find(conn, install.namespace, args.stamp, args.from_file)
        progress = None if args.json else _progress
        report = restore.restore_backup(
            conn,
            saved,
            approved=args.approve,
            timeout=args.timeout,
            progress=progress,
            results_dir=args.results_dir,
            allow_not_ready=args.allow_not_ready,
            other_cluster=args.other_cluster,
        )
    if args.json:
        common.print_json(report.to_record())
    else:
        print(report.to_text())
        if report.outcome == restore.PLANNED:
            source = f"--from-file {args.from_file}" if args.from_file else saved.stamp
            other = " --other-cluster" if args.other_cluster else ""
            print(f"to apply it: cilium-lab restore {source} --approve{other}{common.target_args(args)}")
    return report.exit_code


def _progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr)


def target_args(args: argparse.Namespace) -> str:
    """The target options as given, for a command line the user can run next (also used by `backups`)."""
    parts = [f"--cluster {args.cluster}"] if args.cluster else []
    parts += [f"--kubeconfig {args.kubeconfig}"] if args.kubeconfig else []
    parts += [f"--context {args.context}"] if args.context else []
    return "".join(f" {p}" for p in parts)
