"""Options that several verbs share: which cluster, which kubeconfig, which context, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

DEFAULT_CLUSTER = "sim:seed-mixed"


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        default=None,
        help="sim:<profile> (embedded, simulated), kube (kubeconfig's current context) or kube:<context> "
        f"(default: {DEFAULT_CLUSTER}, or kube when --kubeconfig or --context is given)",
    )
    parser.add_argument(
        "--kubeconfig", default="", help="kubeconfig path (default: $KUBECONFIG or ~/.kube/config)"
    )
    parser.add_argument("--context", default="", help="kubeconfig context (same as --cluster kube:<context>)")


def target_of(args: argparse.Namespace) -> str:
    """The cluster a verb works on. A --kubeconfig or --context without --cluster names a real cluster:
    it must neither start an embedded one nor have its numbers labelled SIMULATED."""
    if args.cluster is None:
        if args.context:
            return f"kube:{args.context}"
        return "kube" if args.kubeconfig else DEFAULT_CLUSTER
    if args.context and args.cluster.startswith("sim:") and not args.kubeconfig:
        return f"kube:{args.context}"
    return args.cluster


def target_args(args: argparse.Namespace) -> str:
    """The target options as given, for a command line the user can run next."""
    parts = [f"--cluster {args.cluster}"] if args.cluster else []
    parts += [f"--kubeconfig {args.kubeconfig}"] if args.kubeconfig else []
    parts += [f"--context {args.context}"] if args.context else []
    return "".join(f" {p}" for p in parts)


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON records instead of a table")


def print_json(records: Any) -> None:
    json.dump(records, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
