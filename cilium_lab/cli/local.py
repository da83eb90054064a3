"""`cilium-lab local`: run the local kernel lab's knobs on this host (root), or `--probe` what it supports.

Called by `cilium_lab.cli`; calls `cilium_lab.locallab` (knob registry, probe, runner, report).
Output is labelled LOCAL KERNEL; `--json` prints one record per knob and test.
"""

from __future__ import annotations

import argparse
import sys

from cilium_lab import locallab
from cilium_lab.cli.common import add_json_option, print_json
from cilium_lab.locallab import knobs, report
from cilium_lab.locallab.runner import DEFAULT_SAMPLES, DEFAULT_SECONDS
from cilium_lab.locallab.topology import require_root


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "local",
        help="measure tuning knobs with real packets in network namespaces on this host (root)",
        description="Local kernel lab: A/B measurements of tuning knobs between network namespaces on "
        f"this host. Knobs: {', '.join(knobs.KNOBS)} (default: all).",
    )
    parser.add_argument("knobs", nargs="*", metavar="KNOB", help="knobs to run (default: all)")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help="samples per arm (>= 2)")
    parser.add_argument("--duration", type=int, default=DEFAULT_SECONDS, help="seconds per sample (>= 1)")
    parser.add_argument(
        "--probe", action="store_true", help="only say which knobs this host can run, and why not"
    )
    add_json_option(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    chosen = knobs.resolve(tuple(args.knobs))  # bad names fail before anything else
    if args.probe:
        return _probe(chosen, as_json=args.json)
    require_root()
    results = locallab.run(
        [k.name for k in chosen], samples=args.samples, duration=args.duration, progress=_say
    )
    if args.json:
        print_json([r.record() for r in results])
    else:
        print(report.render(results, samples=args.samples, duration=args.duration))
    return 0


def _probe(chosen: list[knobs.Knob], *, as_json: bool) -> int:
    features = locallab.detect()
    support = locallab.support(chosen, features)
    if as_json:
        print_json({"features": features, "knobs": support})
    else:
        print(report.render_probe(features, support))
    return 0


def _say(message: str) -> None:
    # progress goes to stderr so that --json output on stdout stays parseable
    print(message, file=sys.stderr, flush=True)
