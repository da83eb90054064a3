"""The change lease on the embedded cluster: atomic create, refusal naming the holder, takeover of an expired or
malformed lease, renewal through a slow operation, a holder that learns it lost the lease, two takers of one
expired lease, and a release that never hides the error of the work it wrapped."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from cilium_lab.change import lock
from cilium_lab.cluster import apierrors, configmaps, leases
from cilium_lab.cluster.connect import connect

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")
NS = "kube-system"
KEY = "leases.coordination.k8s.io"


@pytest.fixture(scope="module")
def shared():
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        yield embedded, connect(str(embedded.kubeconfig))


@pytest.fixture
def conn(shared):
    embedded, conn = shared
    yield conn
    embedded.faults.clear()
    if embedded.backend.store.find(KEY, NS, lock.NAME):
        embedded.backend.store.delete(KEY, NS, lock.NAME)


def _micro(delta: timedelta) -> str:
    return leases.micro_time(datetime.now(UTC) + delta)


def _lease(conn, **spec) -> dict:
    return leases.create(conn, leases.body(NS, lock.NAME, spec))


def _plant(embedded, spec: dict) -> None:
    """Put a Lease in the store past admission: contents a real API server refuses (as a buggy writer or a
    proxy in between could still hand us), to show the taker does not trust what it reads."""
    obj = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": lock.NAME, "namespace": NS},
    }
    embedded.backend.store.create(KEY, {**obj, "spec": spec})


def _spec(conn) -> dict:
    return leases.read(conn, NS, lock.NAME)["spec"]


def test_second_taker_is_refused_with_holder_and_time(conn):
    first = lock.acquire(conn, NS, holder="alice@host", purpose="apply native-routing")
    try:
        with pytest.raises(
            lock.LockHeld, match=r"alice@host since \d{4}-\d\d-\d\dT.*apply native-routing.*live"
        ):
            lock.acquire(conn, NS, holder="bob@host")
        assert lock.LockHeld.exit_code == 3
    finally:
        lock.release(conn, first)
    second = lock.acquire(conn, NS, holder="bob@host")
    lock.release(conn, second)
    with pytest.raises(apierrors.NotFound):
        leases.read(conn, NS, lock.NAME)


def test_the_lease_names_user_host_pid_and_run(conn):
    with lock.held(conn, NS, purpose="apply bbr") as held:
        spec = _spec(conn)
        assert spec["holderIdentity"] == held.holder == lock.default_holder()
        assert f"pid {__import__('os').getpid()} run {lock.RUN_ID}" in held.holder and "@" in held.holder
        assert spec["leaseDurationSeconds"] == lock.DEFAULT_DURATION and spec["leaseTransitions"] == 0
        assert spec["acquireTime"] == spec["renewTime"]
        meta = leases.read(conn, NS, lock.NAME)["metadata"]
        assert meta["annotations"][lock.PURPOSE] == "apply bbr"
    # the old ConfigMap lock is never created any more
    with pytest.raises(apierrors.NotFound):
        configmaps.read(conn, NS, lock.NAME)


def test_expired_lease_is_taken_over_with_a_transition(conn):
    _lease(conn, holderIdentity="dead@host pid 1 run x", acquireTime=_micro(-timedelta(hours=3)),
           renewTime=_micro(-timedelta(hours=2)), leaseDurationSeconds=60, leaseTransitions=4)  # fmt: skip
    taken = lock.acquire(conn, NS, holder="carol@host")
    try:
        spec = _spec(conn)
        assert spec["holderIdentity"] == "carol@host" and spec["leaseTransitions"] == 5
        assert datetime.fromisoformat(spec["acquireTime"]) > datetime.now(UTC) - timedelta(minutes=1)
    finally:
        lock.release(conn, taken)


MALFORMED_ADMITTED = {  # what a real API server stores: every field is optional
    "no holder": {"renewTime": "now", "leaseDurationSeconds": 30},
    "empty holder": {"holderIdentity": " ", "renewTime": "now", "leaseDurationSeconds": 30},
    "no renewTime": {"holderIdentity": "x@y", "leaseDurationSeconds": 30},
    "no duration": {"holderIdentity": "x@y", "renewTime": "now"},
    "renewTime far ahead": {"holderIdentity": "x@y", "renewTime": "2999-01-01T00:00:00.000001Z",
                            "leaseDurationSeconds": 30},
    "empty spec": {},
}  # fmt: skip
MALFORMED_PLANTED = {  # what a real API server refuses, planted past admission
    "naive renewTime": {"holderIdentity": "x@y", "renewTime": "2030-01-01T00:00:00", "leaseDurationSeconds": 30},
    "garbage renewTime": {"holderIdentity": "x@y", "renewTime": "yesterday", "leaseDurationSeconds": 30},
    "numeric renewTime": {"holderIdentity": "x@y", "renewTime": 1700000000, "leaseDurationSeconds": 30},
    "nan duration": {"holderIdentity": "x@y", "renewTime": "now", "leaseDurationSeconds": math.nan},
    "inf duration": {"holderIdentity": "x@y", "renewTime": "now", "leaseDurationSeconds": math.inf},
    "negative duration": {"holderIdentity": "x@y", "renewTime": "now", "leaseDurationSeconds": -5},
    "zero duration": {"holderIdentity": "x@y", "renewTime": "now", "leaseDurationSeconds": 0},
    "string duration": {"holderIdentity": "x@y", "renewTime": "now", "leaseDurationSeconds": "30"},
    "holder not a string": {"holderIdentity": ["x"], "renewTime": "now", "leaseDurationSeconds": 30},
    "spec not an object": "garbage",
}  # fmt: skip


def _now_filled(spec):
    if isinstance(spec, dict) and spec.get("renewTime") == "now":
        return {**spec, "renewTime": _micro(timedelta())}
    return spec


@pytest.mark.parametrize("case", sorted(MALFORMED_ADMITTED))
def test_a_malformed_lease_the_server_admits_counts_as_expired(conn, case):
    _lease(conn, **_now_filled(MALFORMED_ADMITTED[case]))
    holding = lock.status(conn, NS)
    assert holding is not None and not holding.live and "malformed" in holding.why
    taken = lock.acquire(conn, NS, holder="dave@host")
    assert _spec(conn)["holderIdentity"] == "dave@host"
    lock.release(conn, taken)


@pytest.mark.parametrize("case", sorted(MALFORMED_PLANTED))
def test_a_malformed_lease_never_crashes_the_taker(shared, conn, case):
    embedded, _ = shared
    _plant(embedded, _now_filled(MALFORMED_PLANTED[case]))
    holding = lock.status(conn, NS)
    assert holding is not None and not holding.live
    assert holding.why.startswith("malformed (") and "\n" not in holding.line()
    taken = lock.acquire(conn, NS, holder="erin@host")
    spec = _spec(conn)
    assert spec["holderIdentity"] == "erin@host" and spec["leaseTransitions"] == 1
    lock.release(conn, taken)


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ({"renewTime": "2030-01-01T00:00:00"}, 400),  # no zone
        ({"renewTime": "2030-01-01T00:00:00Z"}, 400),  # MicroTime takes exactly six fractional digits
        ({"leaseDurationSeconds": 0}, 422),
        ({"leaseTransitions": -1}, 422),
    ],
)
def test_the_emulator_refuses_what_a_real_server_refuses(conn, spec, code):
    with pytest.raises(apierrors.ClusterError) as caught:
        _lease(conn, holderIdentity="x", **spec)
    assert not isinstance(caught.value, apierrors.AlreadyExists)
    assert str(code) in str(caught.value) or "invalid" in str(caught.value).lower()


def test_renewal_keeps_the_lease_alive_past_its_duration(conn):
    with lock.held(conn, NS, purpose="slow restore", duration=2) as held:
        first = _spec(conn)["renewTime"]
        time.sleep(3.5)  # longer than the duration: only renewal keeps it ours
        held.check()
        assert not held.lost
        spec = _spec(conn)
        assert spec["renewTime"] > first and spec["holderIdentity"] == held.holder
        with pytest.raises(lock.LockHeld, match="live"):
            lock.acquire(conn, NS, holder="mallory@host")


def test_a_holder_whose_renewal_fails_learns_it_lost_the_lease(shared, conn):
    embedded, _ = shared
    told: list[str] = []
    held = lock.acquire(conn, NS, purpose="apply bbr", duration=2, on_lost=told.append)
    try:
        embedded.faults.api_error("update", "leases", 500)
        deadline = time.monotonic() + 6
        while not held.lost and time.monotonic() < deadline:
            time.sleep(0.1)
        assert held.lost
        with pytest.raises(lock.LeaseLost, match=r"^lost the change lease kube-system/cilium-lab-lock: .*"):
            held.check()
        time.sleep(0.5)
        assert len(told) == 1 and "500" in told[0]
        # by then another run may take it, and does
        embedded.faults.clear()
        other = lock.acquire(conn, NS, holder="frank@host")
        lock.release(conn, other)
    finally:
        embedded.faults.clear()
        lock.release(conn, held)


def test_a_holder_whose_lease_was_broken_learns_it_at_once(conn):
    told: list[str] = []
    held = lock.acquire(conn, NS, purpose="apply bbr", duration=3, on_lost=told.append)
    try:
        lock.break_lease(conn, lock.status(conn, NS))
        deadline = time.monotonic() + 3
        while not held.lost and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "someone else took over or deleted it" in held.lost_reason
        with pytest.raises(lock.LeaseLost):
            held.check()
    finally:
        lock.release(conn, held)
    assert "already gone" in held.warnings[-1]


def _race(conn, names: list[str]) -> tuple[list[lock.Lock], list[str]]:
    """Every name tries to take the lease at once; (who won, why the others were refused)."""
    start = threading.Barrier(len(names))
    won: list[lock.Lock] = []
    refused: list[str] = []

    def take(name: str) -> None:
        start.wait()
        try:
            won.append(lock.acquire(conn, NS, holder=name))
        except lock.LockHeld as err:
            refused.append(str(err))

    threads = [threading.Thread(target=take, args=(name,)) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    return won, refused


def test_two_takers_of_one_expired_lease_exactly_one_wins(shared, conn):
    embedded, _ = shared
    for round_ in range(4):
        _lease(
            conn, holderIdentity="dead@host", renewTime=_micro(-timedelta(minutes=5)), leaseDurationSeconds=30
        )
        if round_ % 2:  # both read the expired lease before either writes: the 409 path
            embedded.faults.api_delay("update", "leases", 1.0, times=2)
        won, refused = _race(conn, ["taker1@host", "taker2@host"])
        assert len(won) == 1 and len(refused) == 1, (won, refused)
        if round_ % 2:
            assert "took over the expired lease kube-system/cilium-lab-lock just now" in refused[0]
        assert _spec(conn)["holderIdentity"] == won[0].holder and _spec(conn)["leaseTransitions"] == 1
        lock.release(conn, won[0])
        embedded.faults.clear()


def test_a_lease_is_released_when_the_work_fails(conn):
    with pytest.raises(RuntimeError, match="boom"), lock.held(conn, NS, purpose="x"):
        raise RuntimeError("boom")
    assert lock.status(conn, NS) is None


def test_release_never_masks_the_error_of_the_work():
    """The API server goes away mid-work: the work's own error propagates; the release's is a warning."""
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        conn = connect(str(embedded.kubeconfig))
        warned: list[str] = []
        work = lock.held(conn, NS, purpose="apply bbr", duration=3, warn=warned.append)
        with pytest.raises(apierrors.Unreachable) as caught, work:
            embedded.stop()
            configmaps.patch(conn, NS, "cilium-config", {"enable-bbr": "true"})
        assert "patch configmaps 'cilium-config'" in str(caught.value)
        assert len(warned) == 1 and warned[0].startswith(
            "could not release the change lease kube-system/cilium-lab-lock"
        )
        assert "cilium-lab unlock --approve --force" in warned[0]


def test_durations_are_whole_seconds(conn):
    for bad in (0, 0.5, 1.5, -1, math.nan, math.inf, True, "30"):
        with pytest.raises(lock.InputError, match="whole number of seconds"):
            lock.acquire(conn, NS, duration=bad)
    assert lock.status(conn, NS) is None
