"""The change lock on the embedded cluster: atomic create, refusal naming the holder, stale takeover, release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cilium_lab.change import lock
from cilium_lab.cluster import apierrors, configmaps

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")


@pytest.fixture(scope="module")
def conn():
    from cilium_lab.cluster.connect import connect

    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        yield connect(str(embedded.kubeconfig))


def test_second_taker_is_refused_with_holder_and_time(conn):
    first = lock.acquire(conn, "kube-system", holder="alice@host", purpose="apply native-routing")
    try:
        with pytest.raises(lock.LockHeld, match=r"alice@host since \d{4}-\d\d-\d\dT.*apply native-routing"):
            lock.acquire(conn, "kube-system", holder="bob@host")
    finally:
        lock.release(conn, first)
    second = lock.acquire(conn, "kube-system", holder="bob@host")
    lock.release(conn, second)
    with pytest.raises(apierrors.NotFound):
        configmaps.read(conn, "kube-system", lock.NAME)


def test_stale_lock_is_taken_over(conn):
    old = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
    configmaps.create(conn, "kube-system", lock.NAME, {"holder": "dead@host", "since": old, "ttl": "60"})
    taken = lock.acquire(conn, "kube-system", holder="carol@host")
    assert configmaps.read(conn, "kube-system", lock.NAME).data["holder"] == "carol@host"
    lock.release(conn, taken)


def test_held_releases_on_error(conn):
    with pytest.raises(RuntimeError), lock.held(conn, "kube-system", purpose="x"):
        raise RuntimeError("boom")
    with lock.held(conn, "kube-system"):
        pass
