"""`cilium-lab local`: run the local kernel lab's knobs on this host (root), or `--probe` what it supports.

Called by `cilium_lab.cli`; calls `cilium_lab.locallab` (knob registry, probe, knob runs, report).
Output is labelled LOCAL KERNEL; `--json` prints one record per knob and test. Every sample is kept
in the results store under `--results-dir` (as `cilium-lab bench` keeps its own).
"""

from __future__ import annotations

import argparse
import sys

from cilium_lab import limits, locallab, outputs
from cilium_lab.cli.common import add_json_option, print_json
from cilium_lab.errors import InputError
from cilium_lab.locallab import knobs, probe, report
from cilium_lab.locallab.knob_runs import DEFAULT_RESULTS_DIR, DEFAULT_SAMPLES, DEFAULT_SECONDS, check_run
from cilium_lab.locallab.topology import require_root
from cilium_lab.results.store import ResultStore


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "local",
        help="measure tuning knobs with real packets in network namespaces on this host (root)",
        description="Local kernel lab: A/B measurements of tuning knobs between network namespaces on "
        f"this host. Knobs: {', '.join(knobs.KNOBS)} (default: all).",
    )
    parser.add_argument("knobs", nargs="*", metavar="KNOB", help="knobs to run (default: all)")
    parser.add_argument(
        "--samples",
        default=DEFAULT_SAMPLES,
        help=f"samples per arm, {limits.span(limits.LOCAL_SAMPLES)} (default {DEFAULT_SAMPLES})",
    )
    parser.add_argument(
        "--duration", default=DEFAULT_SECONDS, help=f"seconds per sample, {limits.span(limits.DURATION)}"
    )
    parser.add_argument(
        "--results-dir",
        default=DEFAULT_RESULTS_DIR,
        help=f"where samples are kept (default {DEFAULT_RESULTS_DIR}/)",
    )
    parser.add_argument(
        "--probe", action="store_true", help="only say which knobs this host can run, and why not"
    )
    add_json_option(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    chosen = knobs.resolve(tuple(args.knobs))  # bad names fail before anything else
    if args.probe:
        return _probe(chosen, as_json=args.json)
    args.samples = limits.whole("--samples", args.samples, limits.LOCAL_SAMPLES)
    args.duration = limits.whole("--duration", args.duration, limits.DURATION)
    check_run(args.samples, args.duration)
    outputs.check_folder(args.results_dir, "--results-dir")
    require_root()
    store = _store(args.results_dir)
    results = locallab.run(
        [k.name for k in chosen], samples=args.samples, duration=args.duration, progress=_say, store=store
    )
    if store.samples_path.exists():
        _say(f"samples kept in {store.samples_path}")
    if args.json:
        print_json([r.record() for r in results])
    else:
        host = probe.describe_host(probe.host())
        print(report.render(results, samples=args.samples, duration=args.duration, host=host))
    return 0


def _probe(chosen: list[knobs.Knob], *, as_json: bool) -> int:
    features = locallab.detect()
    support = locallab.support(chosen, features)
    if as_json:
        print_json({"features": features, "knobs": support})
    else:
        print(report.render_probe(features, support))
    return 0


def _store(results_dir: str) -> ResultStore:
    try:
        return ResultStore(results_dir)
    except OSError as err:
        raise InputError(
            f"cannot keep results in {results_dir!r} ({err.strerror}): choose another --results-dir"
        ) from None


def _say(message: str) -> None:
    # progress goes to stderr so that --json output on stdout stays parseable
    print(message, file=sys.stderr, flush=True)
