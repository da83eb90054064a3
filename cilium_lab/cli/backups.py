"""`cilium-lab backups`: list the config backups in a cluster, newest first, and what a restore of each would undo.

Read-only. Calls `cilium_lab.targets.open_target`, `cluster.discover`, `change.backup.list_backups` and
`change.backup_diff`; options from `cli.common`.
"""

from __future__ import annotations

import argparse
import sys

from cilium_lab import targets
from cilium_lab.change import backup, backup_diff
from cilium_lab.cli import common
from cilium_lab.cluster import discover


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("backups", help="list the config backups in a cluster (read-only)")
    common.add_cluster_options(parser)
    common.add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with targets.open_target(common.target_of(args), args.kubeconfig, args.context) as target:
        conn = target.connection
        install = discover.find(conn)
        found = backup.list_backups(conn, install.namespace, on_unreadable=_warn)
        live = backup_diff.read_live(conn, install)
        rows = [(b, backup_diff.diff(b, live)) for b in found]
    simulated = live.simulated  # from the nodes' label: a kubeconfig given with a sim: target may be real
    where = f"{install.namespace}/{install.configmap}"
    if args.json:
        common.print_json([_record(b, d, simulated) for b, d in rows])
    else:
        print(_text(rows, where, simulated))
    return 0


def _warn(line: str) -> None:
    print(f"cilium-lab: warning: skipped {line}", file=sys.stderr)


def _record(b: backup.Backup, d: backup_diff.BackupDiff, simulated: bool) -> dict:
    return {
        "stamp": b.stamp, "when": b.when, "namespace": b.namespace, "configmap": b.configmap,
        "backup_configmap": b.configmap_backup, "keys": len(b.data), "node_configs": len(b.node_configs),
        "diff": d.to_record(), "simulated": simulated,
    }  # fmt: skip


def _text(rows: list[tuple[backup.Backup, backup_diff.BackupDiff]], where: str, simulated: bool) -> str:
    tag = "SIMULATED: " if simulated else ""
    if not rows:
        return f"{tag}no cilium-lab backups in the cluster for {where} (a change saves one before it starts)"
    lines = [f"{tag}backups of {where}, newest first; a restore of one undoes what changed since"]
    lines.append(f"{'STAMP':<23} {'WHEN (UTC)':<21} {'CONFIGMAP':<41} {'KEYS':>5} {'NODE CONFIGS':>12}")
    for b, d in rows:
        lines.append(
            f"{b.stamp:<23} {b.when:<21} {b.configmap_backup:<41} {len(b.data):>5} {len(b.node_configs):>12}"
        )
        lines.append(f"    {d.summary()}")
        lines += [f"      {line}" for line in d.lines() if not line.startswith("agent on ")]
        if d.restarts:
            lines.append(f"    a restore restarts the agents on {', '.join(d.restarts)}")
    lines.append("restore one with: cilium-lab restore STAMP (shows the plan; add --approve to apply it)")
    return "\n".join(lines)
