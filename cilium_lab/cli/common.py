"""Options that several verbs share: which cluster, which kubeconfig, which context, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        default="sim:seed-mixed",
        help="sim:<profile> (embedded, simulated), kube (kubeconfig's current context) or kube:<context>",
    )
    parser.add_argument(
        "--kubeconfig", default="", help="kubeconfig path (default: $KUBECONFIG or ~/.kube/config)"
    )
    parser.add_argument("--context", default="", help="kubeconfig context (same as --cluster kube:<context>)")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON records instead of a table")


def print_json(records: Any) -> None:
    json.dump(records, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
