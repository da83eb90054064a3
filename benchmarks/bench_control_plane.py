"""Control-plane overhead of one benchmark sample on the embedded cluster (SIMULATED cluster).

Prints, per sample of `bench.measure`, the Kubernetes API calls made and the wall time spent
outside netperf, each as a ratio against a baseline measured in the same run: one bare exec of
`true` in the same client pod (the least any sample can cost). The emulator runs netperf in virtual
time, so the wall time of a sample is all overhead: exec round trip, parsing, the store's fsync.
Run: `.venv/bin/python benchmarks/bench_control_plane.py` (or `make bench`).
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter

from kubernetes.client import rest
from kubernetes.stream import ws_client

from cilium_lab import bench, targets
from cilium_lab.bench import pods, runner, scenarios
from cilium_lab.cluster import exec as pod_exec
from cilium_lab.results.labels import SIMULATED

SAMPLES = 20
calls: Counter[str] = Counter()


def count_api_calls() -> None:
    """Count every request the official client sends: REST calls and exec websocket upgrades.
    (A measuring hook in this script only; the library is never patched.)"""
    rest_request, ws_create = rest.RESTClientObject.request, ws_client.create_websocket

    def counted_rest(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["api"] += 1
        return rest_request(self, *args, **kwargs)

    def counted_ws(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["api"] += 1
        return ws_create(*args, **kwargs)

    rest.RESTClientObject.request = counted_rest  # type: ignore[method-assign]
    ws_client.create_websocket = counted_ws


def timed(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(seconds per call, API calls per call)."""
    before, start = calls["api"], time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat, (calls["api"] - before) / repeat


def main() -> None:
    count_api_calls()
    with targets.open_target("sim:bench-2021") as target, tempfile.TemporaryDirectory() as tmp:
        conn = target.connection
        chosen = [scenarios.SCENARIOS["pod-to-pod"]]
        with pods.deployed(conn, run_id="cp-bench", chosen=chosen) as deployment:
            client, _ = deployment.endpoints(chosen[0])
            base_s, base_calls = timed(
                lambda: pod_exec.run(conn, deployment.namespace, client.name, ["true"]), SAMPLES
            )
            print(f"baseline: exec `true`: {base_s * 1000:.1f} ms, {base_calls:.1f} API call(s) per exec")
            for test in ("TCP_STREAM", "TCP_RR", "TCP_STREAM_MULTI"):
                secs, n = timed(
                    lambda t=test: runner.run_sample(conn, deployment, chosen[0], t, duration=10, streams=4),
                    SAMPLES,
                )
                print(
                    f"{test:17s} sample: {secs * 1000:6.1f} ms (x{secs / base_s:.2f}), {n:.1f} API call(s) (x{n / base_calls:.2f})"
                )
        store = bench.ResultStore(tmp, "cp")
        start, before = time.perf_counter(), calls["api"]
        bench.measure(
            conn,
            lab="cp",
            phase="before",
            store=store,
            simulated=True,
            tests="TCP_RR",
            samples=SAMPLES,
            duration=10,
            progress_bar=False,
        )
        secs, n = time.perf_counter() - start, calls["api"] - before
        print(
            f"whole measure() of {SAMPLES} samples: {secs:.2f} s, {n} API calls (deploy, wait, fingerprint, teardown included)"
        )
        print(
            f"  per sample: {secs / SAMPLES * 1000:.1f} ms (x{secs / SAMPLES / base_s:.2f} of the bare exec)"
        )
    print(f"{SIMULATED}: embedded cluster; netperf itself takes no wall time here")


if __name__ == "__main__":
    main()
