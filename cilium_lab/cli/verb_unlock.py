"""`cilium-lab unlock [--approve] [--force]`: who holds the change lease, whether it is live or expired, and
breaking it.

Without --approve it only shows (on a terminal it asks instead); a live lease (its holder renews it) is
deleted only with --force too, since another change may be running. A leftover lock ConfigMap of an older
cilium-lab is shown and removed the same way. Calls `cilium_lab.targets.open_target`, `cluster.discover` and
`change.lock`. Exit 0 when there was nothing to do, it was done, or only shown; 3 when --approve left a live
lease because --force was missing, or the lease changed meanwhile.
"""

from __future__ import annotations

import argparse
import sys

from cilium_lab import exit_codes, targets
from cilium_lab.change import lock
from cilium_lab.cli import common
from cilium_lab.cluster import discover


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "unlock", help="show who holds the change lease (live or expired); --approve breaks it"
    )
    parser.add_argument("--approve", action="store_true", help="delete the lease (and an old lock ConfigMap)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="with --approve: delete the lease even while its holder renews it",
    )
    common.add_cluster_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with targets.open_target(common.target_of(args), args.kubeconfig, args.context) as target:
        conn = target.connection
        namespace = discover.find(conn).namespace
        holding = lock.status(conn, namespace)
        legacy = lock.legacy_lock(conn, namespace)
        if holding is None and legacy is None:
            print(f"no change lease in {namespace}: nothing to unlock")
            return 0
        for line in ([holding.line()] if holding else []) + (
            [lock.describe_legacy(legacy)] if legacy else []
        ):
            print(line)
        if holding and holding.live and not args.force:
            line = (
                f"the lease is live: {holding.spec.holder} renews it, so a change may be running; if you are sure"
                f" that run is gone: cilium-lab unlock{common.target_args(args)} --approve --force"
            )
            print(
                f"nothing deleted: {line}" if args.approve else line,
                file=sys.stderr if args.approve else None,
            )
            return exit_codes.CLUSTER if args.approve else 0
        if not (args.approve or _confirmed()):
            print(f"nothing deleted; to delete: cilium-lab unlock{common.target_args(args)} --approve")
            return 0
        if holding:
            lock.break_lease(conn, holding)
            print(f"deleted lease {namespace}/{lock.NAME}")
        if legacy:
            lock.remove_legacy_lock(conn, legacy)
            print(f"deleted configmap {namespace}/{lock.NAME}")
    return 0


def _confirmed() -> bool:
    """An interactive yes; never asked when stdin or stdout is not a terminal."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    try:
        return input("delete it? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False
