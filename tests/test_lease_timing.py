"""The README's numbers for the two leases, read back from the cluster rather than from constants: the change
lease "lasts 30 s" and its holder "renews it every 10 s", and a benchmark run's liveness record is "renewed
every 10 s, dead 30 s after its last renewal". The default leases are read for their duration; the renewal
period is watched on leases of 3 s, which must renew every third of their duration, as the 30 s ones do
every 10 s."""

from __future__ import annotations

import itertools
import time
from datetime import datetime

from cilium_lab.bench import liveness
from cilium_lab.change import lock
from cilium_lab.cluster import leases, workloads

NS = "kube-system"


def _renewals(read, seconds: float) -> list[float]:
    """The distinct renewTimes a lease shows over `seconds`, polled every 50 ms, as POSIX seconds."""
    seen: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at = datetime.fromisoformat(read()["spec"]["renewTime"].replace("Z", "+00:00")).timestamp()
        if not seen or at != seen[-1]:
            seen.append(at)
        time.sleep(0.05)
    return seen


def _every_third_of(duration: float, times: list[float]) -> None:
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) >= 3, times
    assert all(duration / 3 * 0.6 <= g <= duration / 3 * 1.6 for g in gaps), gaps  # loose: 2 loaded cores


def test_the_change_lease_lasts_30_s_and_is_renewed_every_third_of_it(conn):
    with lock.held(conn, NS, purpose="apply bbr"):
        assert leases.read(conn, NS, lock.NAME)["spec"]["leaseDurationSeconds"] == 30
    with lock.held(conn, NS, purpose="apply bbr", duration=3):
        _every_third_of(3, _renewals(lambda: leases.read(conn, NS, lock.NAME), 5.0))


def test_a_benchmark_runs_record_lasts_30_s_and_is_renewed_every_third_of_it(conn):
    namespace = workloads.NAMESPACE
    workloads.ensure_namespace(conn, namespace)
    with liveness.held(conn, namespace, "run-a", ("vm-1", "vm-2")):
        [record] = liveness.records(conn, namespace)
        assert record.duration == 30 and record.live()
    with liveness.held(conn, namespace, "run-b", ("vm-1", "vm-2"), duration=3):
        name = liveness.record_name("run-b")
        _every_third_of(3, _renewals(lambda: leases.read(conn, namespace, name), 5.0))
