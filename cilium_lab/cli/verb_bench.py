"""`cilium-lab bench`: measure netperf between pods on a cluster and print medians with 95 % CIs.

Calls `cilium_lab.targets.open_target`, `bench.measure` and `bench.summary`; options from
`cli.common`. Samples are kept under `--results-dir/<run id>/` (JSON Lines, plus Parquet and CSV
at the end). On the embedded cluster every line says SIMULATED.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import pandas as pd

from cilium_lab import bench, limits, outputs, targets
from cilium_lab.bench import runner
from cilium_lab.cli import common
from cilium_lab.results.labels import SIMULATED_NOTE

COLUMNS = ["scenario", "test", "metric", "unit", "median", "ci_low", "ci_high", "samples", "failed"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="netperf between pods: medians with confidence intervals")
    common.add_cluster_options(parser)
    parser.add_argument(
        "--tests",
        default=",".join(bench.DEFAULT_TESTS),
        help=f"comma-separated, from {', '.join(bench.TESTS)}",
    )
    parser.add_argument(
        "--scenario", default="pod-to-pod", help=f"comma-separated, from {', '.join(bench.SCENARIOS)}"
    )
    parser.add_argument(
        "--samples",
        default=5,
        help=f"netperf runs per test and scenario, {limits.span(limits.SAMPLES)} (default 5)",
    )
    parser.add_argument(
        "--duration",
        type=_seconds,
        default=10,
        help=f"seconds per run, a whole number from {limits.span(limits.DURATION)} (default 10)",
    )
    parser.add_argument(
        "--streams",
        default=4,
        help=f"parallel netperf processes for TCP_STREAM_MULTI, {limits.span(limits.STREAMS)} (default 4)",
    )
    parser.add_argument("--client-node", default=None, help="node for the client pods (default: chosen)")
    parser.add_argument("--server-node", default=None, help="node for the server pods (default: chosen)")
    parser.add_argument("--results-dir", default="runs", help="where samples are kept (default runs/)")
    common.add_json_option(parser)
    parser.set_defaults(func=run)


def _seconds(text: str) -> int | float:
    """Keep the user's number as given, so `bench.measure` refuses 2.5 or 1m0s with its own message."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None


def run(args: argparse.Namespace) -> int:
    # refuse bad arguments before a cluster is started or a results directory is made
    args.samples = limits.whole("--samples", args.samples, limits.SAMPLES)
    args.streams = limits.whole("--streams", args.streams, limits.STREAMS)
    runner.plan(
        tests=args.tests,
        scenario=args.scenario,
        samples=args.samples,
        duration=args.duration,
        streams=args.streams,
    )
    outputs.check_folder(args.results_dir, "--results-dir")
    store = bench.ResultStore(args.results_dir)  # its folder is made by the first sample
    with (
        outputs.undo_new_folders(args.results_dir),
        targets.open_target(common.target_of(args), args.kubeconfig, args.context) as target,
    ):
        measurement = bench.measure(
            target.connection,
            lab="bench",
            phase="before",
            store=store,
            simulated=bool(target.simulated),
            tests=args.tests,
            scenario=args.scenario,
            samples=args.samples,
            duration=args.duration,
            streams=args.streams,
            client_node=args.client_node,
            server_node=args.server_node,
            progress_bar=not args.json,
            interactive=True,
        )
    store.export()
    table = measurement.summary
    if args.json:
        common.print_json(records(table, simulated=measurement.simulated))
    else:
        print(text(table, simulated=measurement.simulated, where=str(store.path)))
    return 0


def records(table: pd.DataFrame, *, simulated: bool) -> list[dict[str, Any]]:
    """One JSON-safe record per row (NaN becomes null)."""
    out = []
    for row in table[COLUMNS].to_dict("records"):
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        out.append(clean | {"simulated": simulated, "aggregation": "median of per-sample values"})
    return out


def text(table: pd.DataFrame, *, simulated: bool, where: str) -> str:
    head = f"{SIMULATED_NOTE}\n" if simulated else ""
    shown = table[COLUMNS].copy()
    for col in ("median", "ci_low", "ci_high"):
        shown[col] = shown[col].map(
            lambda v: f"{v:.4g}" if isinstance(v, float) and not math.isnan(v) else "-"
        )
    return f"{head}{shown.to_string(index=False)}\nmedian of per-sample values, 95 % bootstrap CI; samples in {where}"
