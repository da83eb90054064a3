"""`cilium-lab scorecard`: print every tuning item's state on every node of a cluster.

Calls `cilium_lab.targets.open_target` (which connects through `cluster.connect`), `cluster.snapshot`
and `scorecard`; options from `cli.common`.
"""

from __future__ import annotations

import argparse
import dataclasses

from cilium_lab import scorecard, targets
from cilium_lab.cli import common
from cilium_lab.cluster import snapshot


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scorecard", help="every tuning item's state on every node")
    common.add_cluster_options(parser)
    common.add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with targets.open_target(common.target_of(args), args.kubeconfig, args.context) as target:
        card = scorecard.build(snapshot.take(target.connection))
        # the target knows a sim: cluster even before its nodes carry the simulated label
        card = dataclasses.replace(card, simulated=card.simulated or bool(target.simulated))
    if args.json:
        common.print_json(card.to_json())
    else:
        print(card.to_text())
    return 0
