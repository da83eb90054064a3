"""`cilium-lab backups [--prune --keep N [--approve]]`: the config backups in a cluster, newest first, and
what a restore of each would undo; with --prune, delete all but the newest N backup ConfigMaps.

Listing is read-only, and so is --prune without --approve (it says what it would delete). Calls
`cilium_lab.targets.open_target`, `cluster.discover`, `cluster.identity`, `change.backup.list_backups`,
`change.backup_diff` and `change.backup_prune`; options from `cli.common`. A bad --keep is one line and
exit 2 before the cluster is contacted.
"""

from __future__ import annotations

import argparse
import sys

from cilium_lab import targets
from cilium_lab.change.backups import backup, backup_diff, backup_prune
from cilium_lab.cli import common
from cilium_lab.cluster import discover, identity
from cilium_lab.errors import InputError
from cilium_lab.results.labels import SIMULATED


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backups", help="list the config backups in a cluster (read-only); --prune deletes old ones"
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="delete every backup ConfigMap except the newest N (--keep); without --approve only say which",
    )
    # a string, checked by us: argparse's own error would be two lines (usage and message)
    parser.add_argument(
        "--keep",
        default=None,
        metavar="N",
        help=f"with --prune: how many of the newest backups stay (default: {backup_prune.DEFAULT_KEEP})",
    )
    parser.add_argument("--approve", action="store_true", help="with --prune: delete them")
    common.add_cluster_options(parser)
    common.add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.prune:
        keep = backup_prune.check_keep(backup_prune.DEFAULT_KEEP if args.keep is None else args.keep)
    elif args.keep is not None or args.approve:
        raise InputError(
            "--keep and --approve go with --prune (cilium-lab backups --prune --keep N --approve)"
        )
    with targets.open_target(common.target_of(args), args.kubeconfig, args.context) as target:
        conn = target.connection
        install = discover.find(conn)
        if args.prune:
            pruned = backup_prune.prune(
                conn, install.namespace, keep, approved=args.approve, on_unreadable=_warn
            )
            return _print_prune(args, pruned, discover.is_simulated(conn))
        here = identity.read(conn)
        found = backup.list_backups(conn, install.namespace, on_unreadable=_warn)
        live = backup_diff.read_live(conn, install)
        rows = [(b, backup_diff.diff(b, live)) for b in found]
    simulated = live.simulated  # from the nodes' label: a kubeconfig given with a sim: target may be real
    where = f"{install.namespace}/{install.configmap}"
    if args.json:
        common.print_json([_record(b, d, simulated, here.uid) for b, d in rows])
    else:
        print(_text(rows, where, simulated, here.uid))
    return 0


def _warn(line: str) -> None:
    print(f"cilium-lab: warning: skipped {line}", file=sys.stderr)


def _record(b: backup.Backup, d: backup_diff.BackupDiff, simulated: bool, here: str) -> dict:
    return {
        "stamp": b.stamp,
        "when": b.when,
        "namespace": b.namespace,
        "configmap": b.configmap,
        "backup_configmap": b.configmap_backup,
        "keys": len(b.data),
        "node_configs": len(b.node_configs),
        "diff": d.to_record(),
        "simulated": simulated,
        "cluster_uid": b.cluster_uid,
        "cluster_server": b.cluster_server,
        "this_cluster": b.cluster_uid == here if b.cluster_uid else None,
    }


def _cluster_line(b: backup.Backup, here: str) -> str:
    if not b.cluster_uid:
        return "    records no cluster identity (written before cilium-lab recorded one)"
    if b.cluster_uid != here:
        return f"    taken on another cluster, {b.cluster}: a restore here needs --other-cluster"
    return ""


def _text(
    rows: list[tuple[backup.Backup, backup_diff.BackupDiff]], where: str, simulated: bool, here: str
) -> str:
    tag = f"{SIMULATED}: " if simulated else ""
    if not rows:
        return f"{tag}no cilium-lab backups in the cluster for {where} (a change saves one before it starts)"
    lines = [f"{tag}backups of {where}, newest first; a restore of one undoes what changed since"]
    lines.append(f"{'STAMP':<23} {'WHEN (UTC)':<21} {'CONFIGMAP':<41} {'KEYS':>5} {'NODE CONFIGS':>12}")
    for b, d in rows:
        lines.append(
            f"{b.stamp:<23} {b.when:<21} {b.configmap_backup:<41} {len(b.data):>5} {len(b.node_configs):>12}"
        )
        lines += [line for line in (_cluster_line(b, here),) if line]
        lines.append(f"    {d.summary()}")
        lines += [f"      {line}" for line in d.lines() if not line.startswith("agent on ")]
        if d.restarts:
            lines.append(f"    a restore restarts the agents on {', '.join(d.restarts)}")
    lines.append("restore one with: cilium-lab restore STAMP (shows the plan; add --approve to apply it)")
    return "\n".join(lines)


def _print_prune(args: argparse.Namespace, pruned: backup_prune.Pruning, simulated: bool) -> int:
    if args.json:
        common.print_json({**pruned.to_record(), "simulated": simulated})
        return 0
    tag = f"{SIMULATED}: " if simulated else ""
    verb = "deleted" if pruned.approved else "would delete"
    if not pruned.doomed:
        print(
            f"{tag}{len(pruned.kept)} backup(s) in {pruned.namespace}, at most {pruned.keep} kept: nothing to delete"
        )
        return 0
    lines = [
        f"{tag}{verb} {len(pruned.doomed)} backup ConfigMap(s) in {pruned.namespace}, oldest first;"
        f" the newest {len(pruned.kept)} stay (oldest kept: {pruned.kept[-1].stamp})"
    ]
    gone = set(pruned.gone)
    lines += [
        f"  {b.stamp}  {b.when}  {b.configmap_backup}{'  (already gone)' if b.stamp in gone else ''}"
        for b in pruned.doomed
    ]
    lines.append(
        "the backup files on disk (<results_dir>/backups/<stamp>-<configmap>.json) stay; "
        "`cilium-lab restore --from-file PATH` restores from one"
    )
    if not pruned.approved:
        lines.append(
            f"to delete them: cilium-lab backups --prune --keep {pruned.keep} --approve{common.target_args(args)}"
        )
    print("\n".join(lines))
    return 0
