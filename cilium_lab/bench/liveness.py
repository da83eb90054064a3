"""Which benchmark runs are alive: one liveness record per run, so a run sweeps only what dead runs left.

The record is a coordination.k8s.io/v1 Lease `cilium-lab-bench-<run id>` in the benchmark namespace
(through `cluster.leases`, as the change lock): holderIdentity `user@host pid N`, acquireTime (since
when), renewTime, leaseDurationSeconds, and the run id and its two nodes as annotations. The change lock's
renewer (`leases.Renewer`) renews it every third of its duration while the pods measure, only logging a
failed renewal; it is deleted when the pods are.
A run is live while renewTime + duration is ahead of this machine's clock (holders' clocks assumed
NTP-close, as for the change lease); a record that cannot be read as one (`leases.parse` problems, a
renewTime more than a duration ahead) counts as dead.

`held()` refuses with `RunHeld` (exit code 3) while another live run uses one of the same nodes: two runs
would disturb each other's numbers. Two runs that start at once both create their records, then both
look again; the later one (by start time, then run id) withdraws and is refused.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from cilium_lab.cluster import apierrors, leases, objects
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError

PREFIX = "cilium-lab-bench-"
RUN_ID = "cilium-lab.io/run-id"  # annotations
NODES = "cilium-lab.io/nodes"
LABELS = {"app.kubernetes.io/managed-by": "cilium-lab", "cilium-lab.io/component": "bench-run"}
DURATION = 30  # seconds a record outlives its last renewal
log = logging.getLogger("cilium_lab")


class RunHeld(ClusterError):
    """Another live benchmark run measures on the same nodes: nothing was deployed."""

    exit_code = 3


@dataclass(frozen=True)
class RunRecord:
    """One run's liveness record as read from the cluster."""

    name: str
    run_id: str
    holder: str
    since: str
    acquired: str  # acquireTime as MicroTime: orders two runs that started at once
    renewed: datetime | None  # None: unreadable, the run counts as dead
    duration: float
    nodes: frozenset[str]
    resource_version: str

    def live(self, now: datetime | None = None) -> bool:
        if self.renewed is None or self.duration <= 0:
            return False
        left = (self.renewed - (now or _now())).total_seconds() + self.duration
        return 0 < left <= 2 * self.duration  # renewed "in the future" beyond a duration: malformed

    def line(self) -> str:
        nodes = ", ".join(sorted(self.nodes)) or "unknown nodes"
        ago = f"{(_now() - self.renewed).total_seconds():.0f} s ago" if self.renewed else "never"
        return f"run {self.run_id} of {self.holder} since {self.since} on {nodes} (renewed {ago})"


def _now() -> datetime:
    return datetime.now(UTC)


def record_name(run_id: str) -> str:
    """`cilium-lab-bench-<run id>` as a DNS subdomain name: lower case, '_' as '-', and a short hash of the
    run id when that changed it, so two run ids never share a record."""
    safe = re.sub(r"[^a-z0-9.-]", "-", run_id.lower()).strip(".-")
    if safe != run_id:
        safe += "-" + hashlib.sha256(run_id.encode()).hexdigest()[:6]
    return PREFIX + safe


def parse(obj: leases.Obj) -> RunRecord:
    """A record from its Lease; whatever is missing or malformed makes it a dead run's, never a crash."""
    spec = leases.parse(obj)
    notes = spec.annotations
    name = objects.name_of(obj)
    return RunRecord(
        name,
        notes.get(RUN_ID) or name.removeprefix(PREFIX),
        spec.holder or "?",
        spec.acquired.astimezone(UTC).isoformat(timespec="seconds") if spec.acquired else "?",
        leases.micro_time(spec.acquired) if spec.acquired else "",
        None if spec.problems else spec.renewed,
        spec.duration or 0.0,
        frozenset(n for n in notes.get(NODES, "").split(",") if n),
        spec.resource_version,
    )


def records(conn: Connection, namespace: str) -> list[RunRecord]:
    return [parse(obj) for obj in leases.list_labelled(conn, namespace, LABELS)]


def remove_dead(conn: Connection, namespace: str, run_ids: set[str]) -> None:
    """Delete the records of these runs if they are still dead (guarded by resourceVersion)."""
    for record in records(conn, namespace):
        if record.run_id in run_ids and not record.live():
            try:
                leases.delete(conn, namespace, record.name, record.resource_version)
            except (apierrors.NotFound, apierrors.Conflict):
                continue  # gone, or renewed meanwhile: its owner is alive after all


class Liveness:
    """Our record, renewed (`leases.Renewer`, failures only logged) until `stop()`, which deletes it."""

    def __init__(self, conn: Connection, lease: leases.Obj, duration: float) -> None:
        self.conn, self.duration = conn, duration
        self.name, self.namespace = lease["metadata"]["name"], lease["metadata"]["namespace"]
        self._renewer = leases.Renewer(
            conn, lease, duration, what=f"benchmark run record {self.name}", on_failure=log.warning,
            keep_trying=True,
        )  # fmt: skip

    @property
    def lost(self) -> str:
        """Why the record is no longer ours ("" while it is): another run took or removed it."""
        return self._renewer.lost_reason

    def stop(self) -> None:
        self._renewer.stop()
        try:
            leases.delete(self.conn, self.namespace, self.name, self._renewer.resource_version)
        except (apierrors.NotFound, apierrors.Conflict):
            pass  # gone, or taken by a run that found ours dead
        except ClusterError as err:
            log.warning("could not delete benchmark run record %s (it expires by itself): %s", self.name, err)


def _refuse(namespace: str, other: RunRecord) -> RunHeld:
    return RunHeld(
        f"another benchmark run is measuring on the same nodes: {other.line()}; two runs would disturb each"
        f" other's numbers. Wait for it to finish, or choose other nodes (--client-node/--server-node); if it"
        f" died, its record {namespace}/{other.name} expires within {other.duration:g} s"
    )


def _first(record: RunRecord) -> tuple[str, str]:
    return (record.acquired, record.run_id)


@contextmanager
def held(
    conn: Connection, namespace: str, run_id: str, nodes: tuple[str, ...], *, duration: float = DURATION
) -> Iterator[Liveness]:
    """Hold this run's liveness record while the block runs; `RunHeld` when a live run shares a node."""
    mine = set(nodes)

    def rivals() -> list[RunRecord]:
        return [
            r
            for r in records(conn, namespace)
            if r.run_id != run_id and r.live() and (not r.nodes or r.nodes & mine)
        ]

    if found := rivals():
        raise _refuse(namespace, min(found, key=_first))
    name, now = record_name(run_id), leases.micro_time(_now())
    spec = {
        "holderIdentity": leases.holder_identity(),
        "acquireTime": now,
        "renewTime": now,
        "leaseDurationSeconds": int(duration),
    }
    notes = {RUN_ID: run_id, NODES: ",".join(sorted(mine))}
    try:
        lease = leases.create(conn, leases.body(namespace, name, spec, labels=LABELS, annotations=notes))
    except apierrors.AlreadyExists:  # our own record, left by an earlier phase of this run
        version = next((r.resource_version for r in records(conn, namespace) if r.name == name), "")
        body = leases.body(namespace, name, spec, resource_version=version, labels=LABELS, annotations=notes)
        lease = leases.replace(conn, body)
    ours = parse(lease)
    found = [r for r in rivals() if _first(r) < _first(ours)]  # two started at once: the first one stays
    if found:
        with suppress(apierrors.NotFound, apierrors.Conflict):
            leases.delete(conn, namespace, name, ours.resource_version)
        raise _refuse(namespace, min(found, key=_first))
    liveness = Liveness(conn, lease, duration)
    try:
        yield liveness
    finally:
        liveness.stop()
