"""The one lease renewer (`cluster.leases.Renewer`) that the change lock and the benchmark runs' liveness records
share, on the embedded cluster: it renews every third of the duration, says once (`on_lost`) when the lease is
taken, deleted, or not renewed for a whole duration, stops renewing when told, and in the liveness records'
mode only reports failed renewals and keeps the record alive once the API answers again."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest

from cilium_lab.bench import liveness
from cilium_lab.change import lock
from cilium_lab.cluster import leases
from cilium_lab.cluster.connect import connect

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")
NS = "kube-system"
KEY = "leases.coordination.k8s.io"
NAME = "renewal-test"


@pytest.fixture(scope="module")
def shared():
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        yield embedded, connect(str(embedded.kubeconfig))


@pytest.fixture
def lease(shared):
    embedded, conn = shared
    now = leases.micro_time(datetime.now(UTC))
    spec = {"holderIdentity": "test", "acquireTime": now, "renewTime": now, "leaseDurationSeconds": 2}
    yield leases.create(conn, leases.body(NS, NAME, spec))
    embedded.faults.clear()
    if embedded.backend.store.find(KEY, NS, NAME):
        embedded.backend.store.delete(KEY, NS, NAME)


def _renew_time(conn) -> str:
    return leases.read(conn, NS, NAME)["spec"]["renewTime"]


def _until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_it_renews_every_third_of_the_duration_and_stops_when_told(shared, lease):
    _, conn = shared
    renewer = leases.Renewer(conn, lease, 2, what="the test lease")
    try:
        seen = {_renew_time(conn)}
        deadline = time.monotonic() + 3.2  # longer than the duration: only renewal keeps it fresh
        while time.monotonic() < deadline:
            seen.add(_renew_time(conn))
            time.sleep(0.1)
        assert len(seen) >= 4  # the first, then every ~0.67 s: 4 or 5 in 3.2 s
        assert not renewer.lost and renewer.lost_reason == ""
    finally:
        renewer.stop()
    assert renewer.resource_version == leases.read(conn, NS, NAME)["metadata"]["resourceVersion"]
    stopped = _renew_time(conn)
    time.sleep(1.5)
    assert _renew_time(conn) == stopped  # no renewal after stop()
    assert not renewer.lost  # stopped, not lost: a lease we let go is not "lost"


def test_a_lease_taken_over_is_reported_lost_once_and_no_longer_renewed(shared, lease):
    _, conn = shared
    told: list[str] = []
    renewer = leases.Renewer(conn, lease, 2, what="the test lease", on_lost=told.append)
    try:
        taken = {**lease, "spec": {**lease["spec"], "holderIdentity": "someone-else"}}
        leases.replace(conn, taken)  # guarded by the version the renewer started from: it wins now
        _until(lambda: told, 3)
        assert "someone else took over or deleted it" in renewer.lost_reason
        time.sleep(1.5)
        assert len(told) == 1 and told[0] == renewer.lost_reason
        assert leases.read(conn, NS, NAME)["spec"]["holderIdentity"] == "someone-else"
    finally:
        renewer.stop()


def test_renewals_failing_for_a_duration_lose_the_lease_and_stop(shared, lease):
    embedded, conn = shared
    told: list[str] = []
    failures: list[str] = []
    renewer = leases.Renewer(
        conn, lease, 2, what="the test lease", on_lost=told.append, on_failure=failures.append
    )
    try:
        embedded.faults.api_error("update", "leases", 500)
        _until(lambda: told, 6)  # `lost` may say so a moment before the thread does (staleness alone)
        assert renewer.lost and "renewal failed for 2 s or more" in renewer.lost_reason
        assert len(told) == 1 and "500" in told[0] and failures and all("500" in f for f in failures)
        embedded.faults.clear()
        stale = _renew_time(conn)
        time.sleep(1.5)
        assert _renew_time(conn) == stale  # gave up: another holder may take it now
    finally:
        renewer.stop()


def test_keep_trying_reports_failures_and_renews_again_once_the_api_answers(shared, lease, caplog):
    """The liveness records' mode: a record whose renewal fails is only reported (another run may find it
    dead meanwhile, and then it is lost); when nobody took it, renewal carries on."""
    embedded, conn = shared
    told: list[str] = []
    failures: list[str] = []
    renewer = leases.Renewer(
        conn, lease, 2, what="the test lease", on_lost=told.append, on_failure=failures.append,
        keep_trying=True,
    )  # fmt: skip
    try:
        embedded.faults.api_error("update", "leases", 500)
        time.sleep(2.8)  # more than the duration
        assert failures and told == []
        embedded.faults.clear()
        stale = _renew_time(conn)
        _until(lambda: _renew_time(conn) != stale, 3)
        assert _renew_time(conn) != stale and not renewer.lost
    finally:
        renewer.stop()


def test_the_change_lock_and_the_liveness_records_renew_through_it(shared, monkeypatch, caplog):
    """Both holders go through the one renewer: each started one for its own lease, with its own mode."""
    embedded, conn = shared
    started: list[tuple[str, bool]] = []
    original = leases.Renewer.__init__

    def spy(self, conn, lease, duration, **kw):
        started.append((lease["metadata"]["name"], kw.get("keep_trying", False)))
        original(self, conn, lease, duration, **kw)

    monkeypatch.setattr(leases.Renewer, "__init__", spy)
    with lock.held(conn, NS, purpose="test", duration=2) as held:
        assert not held.lost
    with liveness.held(conn, NS, "run-1", ("vm-1", "vm-2"), duration=2) as record:
        embedded.faults.api_error("update", "leases", 500, times=1)
        with caplog.at_level(logging.WARNING, logger="cilium_lab"):
            time.sleep(1.6)  # one renewal fails (reported), the next one goes through
        assert not record.lost
        assert any("could not renew benchmark run record" in r.getMessage() for r in caplog.records)
        assert liveness.records(conn, NS)[0].live()
    assert started == [(lock.NAME, False), (liveness.record_name("run-1"), True)]
    assert not [t.name for t in threading.enumerate() if t.name.startswith("renew-")]  # both stopped
