"""coordination.k8s.io/v1 Leases as plain dicts: read, create, replace (guarded), delete (guarded), and the
spec parsed without trusting it.

The change lock is a Lease (`change.lock`), and so is each benchmark run's liveness record (`bench.liveness`);
this module is their only way to the API (CoordinationV1Api), and `Renewer` keeps either renewed.
`parse` reads whatever a Lease holds into a `LeaseSpec` whose fields are None where a value is missing or
unusable (no holder, a time without a zone or that is no time, a duration that is not a positive finite
number), each with a line in `problems`: a taker decides from that, and never crashes on what another
writer left. Times are written as metav1.MicroTime (RFC 3339 with exactly six fractional digits), which
is what the API server accepts.
"""

from __future__ import annotations

import getpass
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import kubernetes.client as k8s

from cilium_lab.cluster import apierrors, objects
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError

Obj = dict[str, Any]
RESOURCE = "leases"
log = logging.getLogger("cilium_lab")


@dataclass(frozen=True)
class LeaseSpec:
    """A Lease's spec as far as it can be trusted; None marks a field that is missing or unusable."""

    holder: str | None
    acquired: datetime | None
    renewed: datetime | None
    duration: float | None  # seconds
    transitions: int | None
    resource_version: str
    annotations: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def holder_identity() -> str:
    """Who holds a lease from this process: user@host pid N (what `holderIdentity` names)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def micro_time(when: datetime) -> str:
    """metav1.MicroTime's JSON form: UTC, six fractional digits, "Z".

    The client validates a body into its V1Lease model and writes the times back with `isoformat()`, which
    drops a fraction of zero that MicroTime requires (the server then answers 400): a whole second is
    sent one microsecond later."""
    when = when.astimezone(UTC)
    return (when.replace(microsecond=1) if when.microsecond == 0 else when).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(spec: Obj, key: str, problems: list[str]) -> datetime | None:
    value = spec.get(key)
    if value is None:
        problems.append(f"no {key}")
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{key} {str(value)[:60]!r} is not a time")
        return None
    if when.tzinfo is None:
        problems.append(f"{key} {str(value)[:60]!r} has no time zone")
        return None
    return when


def _duration(spec: Obj, problems: list[str]) -> float | None:
    value = spec.get("leaseDurationSeconds")
    if value is None:
        problems.append("no leaseDurationSeconds")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"leaseDurationSeconds {str(value)[:60]!r} is not a number")
        return None
    if not math.isfinite(value) or value <= 0:
        problems.append(f"leaseDurationSeconds {value!r} is not a positive finite number")
        return None
    return float(value)


def _holder(spec: Obj, problems: list[str]) -> str | None:
    value = spec.get("holderIdentity")
    if not isinstance(value, str) or not value.strip():
        problems.append("no holderIdentity")
        return None
    return value


def _transitions(spec: Obj) -> int | None:
    value = spec.get("leaseTransitions")
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None  # type: ignore[return-value]


def parse(obj: Obj) -> LeaseSpec:
    """The spec of a Lease object, every field checked; never raises on malformed contents."""
    spec = obj.get("spec") if isinstance(obj, dict) else None
    if not isinstance(spec, dict):
        spec = {}
    problems: list[str] = []
    holder = _holder(spec, problems)
    renewed = _time(spec, "renewTime", problems)
    duration = _duration(spec, problems)
    acquired = _time(spec, "acquireTime", [])  # only shown: a missing acquireTime does not matter
    return LeaseSpec(
        holder=holder,
        acquired=acquired,
        renewed=renewed,
        duration=duration,
        transitions=_transitions(spec),
        resource_version=objects.resource_version(obj),
        annotations=objects.annotations(obj),
        problems=tuple(problems),
    )


def body(
    namespace: str,
    name: str,
    spec: Obj,
    *,
    resource_version: str = "",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    meta: Obj = {"name": name, "namespace": namespace}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}


def _api(conn: Connection) -> k8s.CoordinationV1Api:
    return k8s.CoordinationV1Api(conn.api_client)


def _where(namespace: str, name: str, verb: str) -> dict[str, str]:
    return {"verb": verb, "resource": RESOURCE, "namespace": namespace, "name": name}


def read(conn: Connection, namespace: str, name: str, *, timeout: float | None = None) -> Obj:
    return objects.request(
        conn,
        _api(conn).read_namespaced_lease,
        name,
        namespace,
        **_where(namespace, name, "get"),
        **_timeout(timeout),
    )


def list_labelled(conn: Connection, namespace: str, labels: dict[str, str]) -> list[Obj]:
    """The Leases in `namespace` carrying every one of `labels` (a label selector, done by the server)."""
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    listing = objects.request(
        conn,
        _api(conn).list_namespaced_lease,
        namespace,
        label_selector=selector,
        verb="list",
        resource=RESOURCE,
        namespace=namespace,
    )
    return listing.get("items", [])


def create(conn: Connection, lease: Obj, *, timeout: float | None = None) -> Obj:
    """Create atomically: `apierrors.AlreadyExists` when the name is taken."""
    meta = lease["metadata"]
    return objects.request(
        conn,
        _api(conn).create_namespaced_lease,
        meta["namespace"],
        lease,
        **_where(meta["namespace"], meta["name"], "create"),
        **_timeout(timeout),
    )


def replace(conn: Connection, lease: Obj, *, timeout: float | None = None) -> Obj:
    """PUT guarded by the resourceVersion in `lease`: `apierrors.Conflict` when it changed since."""
    meta = lease["metadata"]
    return objects.request(
        conn,
        _api(conn).replace_namespaced_lease,
        meta["name"],
        meta["namespace"],
        lease,
        **_where(meta["namespace"], meta["name"], "update"),
        **_timeout(timeout),
    )


def delete(
    conn: Connection, namespace: str, name: str, resource_version: str, *, timeout: float | None = None
) -> None:
    """Delete only the version that was read (a precondition): `apierrors.Conflict` when it changed since."""
    options = {"preconditions": {"resourceVersion": resource_version}} if resource_version else {}
    objects.request(
        conn,
        _api(conn).delete_namespaced_lease,
        name,
        namespace,
        body=options,
        **_where(namespace, name, "delete"),
        **_timeout(timeout),
    )


def _timeout(timeout: float | None) -> dict[str, float]:
    return {"_request_timeout": timeout} if timeout else {}


class Renewer:
    """Keeps one Lease we hold renewed from a daemon thread: renewTime every duration / 3, each PUT guarded by
    the resourceVersion of our last write and timing out after duration / 3.

    The lease is lost, `on_lost(reason)` called once from the thread and the renewal ended, when someone
    else took it over or deleted it (409/404), or when renewals failed for a whole duration (another holder
    may have taken it since). Each failed renewal is `on_failure(line)`, retried within a second. With
    `keep_trying` failures are only reported, however long, and retried at the usual pace: for a record
    whose owner is still at work (a benchmark run's), renewing again once the API answers is better than
    letting it die; whoever found it dead meanwhile and took or deleted it makes the next renewal a
    409/404, and that loses it.
    `sent` is when the request that wrote `lease` was sent (default now): the lease counts from then."""

    def __init__(
        self,
        conn: Connection,
        lease: Obj,
        duration: float,
        *,
        what: str,
        sent: float | None = None,
        on_lost: Callable[[str], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        keep_trying: bool = False,
    ) -> None:
        self.what, self.duration, self.keep_trying = what, duration, keep_trying
        self.on_lost, self.on_failure = on_lost, on_failure
        self._conn, self._lease = conn, lease
        self._last_ok = time.monotonic() if sent is None else sent  # when the last good write was sent
        self._lost = ""
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"renew-{objects.name_of(lease)}", daemon=True
        )
        self._thread.start()

    @property
    def lease(self) -> Obj:
        with self._guard:
            return self._lease

    @property
    def resource_version(self) -> str:
        return objects.resource_version(self.lease)

    @property
    def lost(self) -> bool:
        return bool(self.lost_reason)

    @property
    def lost_reason(self) -> str:
        """Why the lease is no longer ours ("" while it is): what the thread found, or a whole duration
        without a good renewal (also before the thread noticed it); never after `stop()`."""
        with self._guard:
            if self._lost:
                return self._lost
            stale = time.monotonic() - self._last_ok
        if stale >= self.duration and not self._stop.is_set() and not self.keep_trying:
            return f"not renewed for {stale:.0f} s (its duration is {self.duration:g} s): another run may hold it now"
        return ""

    def stop(self) -> None:
        """End the renewal (waits for a renewal in flight); the lease itself stays as last written."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=self.duration / 3 + 5)

    def _loop(self) -> None:
        interval = self.duration / 3
        wait = interval
        while not self._stop.wait(wait):
            try:
                self._renew(timeout=interval)
                wait = interval
            except (apierrors.Conflict, apierrors.NotFound) as err:
                self._mark_lost(f"someone else took over or deleted it ({err})")
                return
            except ClusterError as err:
                if self.on_failure:
                    self.on_failure(f"could not renew {self.what}: {err}")
                if not self.keep_trying and time.monotonic() - self._last_ok >= self.duration:
                    self._mark_lost(f"renewal failed for {self.duration:g} s or more: {err}")
                    return
                # a lease that can be lost is retried soon, while it is still ours; one kept trying, as planned
                wait = interval if self.keep_trying else min(interval, 1.0)

    def _renew(self, timeout: float) -> None:
        sent = time.monotonic()
        with self._guard:
            body = {
                **self._lease,
                "spec": {**self._lease["spec"], "renewTime": micro_time(datetime.now(UTC))},
            }
        renewed = replace(self._conn, body, timeout=timeout)
        with (
            self._guard
        ):  # kept even when stopped meanwhile: a guarded delete after `stop()` needs its version
            self._lease, self._last_ok = renewed, sent

    def _mark_lost(self, reason: str) -> None:
        with self._guard:
            if self._lost or self._stop.is_set():
                return
            self._lost = reason
        log.warning("lost %s: %s", self.what, reason)
        if self.on_lost:
            self.on_lost(reason)
