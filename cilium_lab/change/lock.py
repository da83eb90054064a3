"""One change at a time per cluster: a lock ConfigMap `cilium-lab-lock` in the Cilium namespace.

A Cilium config change, a restore, lab 15's host tuning and a host restore all take it. Taking the
lock is an atomic create (a 409 AlreadyExists means someone holds it: refused, naming the holder and
since when). A lock older than its TTL is stale (its holder died) and is taken over with an update
guarded by its resourceVersion, so two takers of one stale lock cannot both win.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cilium_lab.cluster import apierrors, configmaps
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError

NAME = "cilium-lab-lock"
DEFAULT_TTL = 1800.0  # seconds: longer than any rollout wait we allow by default


class LockHeld(ClusterError):
    """Another change holds the lock."""


@dataclass(frozen=True)
class Lock:
    namespace: str
    holder: str
    since: str
    state: configmaps.ConfigMapState


def default_holder() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _data(holder: str, purpose: str, ttl: float) -> dict[str, str]:
    return {
        "holder": holder,
        "since": _now().isoformat(timespec="seconds"),
        "purpose": purpose,
        "ttl": f"{ttl:g}",
    }


def _stale(data: dict[str, str]) -> bool:
    try:
        since = datetime.fromisoformat(data["since"])
        ttl = float(data.get("ttl", DEFAULT_TTL))
    except (KeyError, ValueError):
        return True  # unreadable lock: nobody can prove they hold it
    return _now() - since > timedelta(seconds=ttl)


def acquire(
    conn: Connection, namespace: str, *, purpose: str = "", holder: str = "", ttl: float = DEFAULT_TTL
) -> Lock:
    holder = holder or default_holder()
    data = _data(holder, purpose, ttl)
    try:
        state = configmaps.create(conn, namespace, NAME, data, {"app.kubernetes.io/managed-by": "cilium-lab"})
        return Lock(namespace, holder, data["since"], state)
    except apierrors.AlreadyExists:
        pass
    current = configmaps.read(conn, namespace, NAME)
    if not _stale(current.data):
        raise LockHeld(
            f"another change holds the lock: {current.data.get('holder', '?')} since {current.data.get('since', '?')}"
            f" ({current.data.get('purpose', '')}); wait for it, or delete configmap {namespace}/{NAME} if it is dead"
        )
    try:
        state = configmaps.update(conn, current, data)
    except apierrors.Conflict:
        raise LockHeld(
            f"someone else took over the stale lock {namespace}/{NAME} just now; try again later"
        ) from None
    return Lock(namespace, holder, data["since"], state)


def release(conn: Connection, lock: Lock) -> None:
    """Delete the lock if it is still ours (guarded by resourceVersion); never raises for a lost lock."""
    with suppress(apierrors.NotFound, apierrors.Conflict):
        configmaps.delete(conn, lock.namespace, NAME, lock.state.resource_version)


@contextmanager
def held(conn: Connection, namespace: str, *, purpose: str = "", ttl: float = DEFAULT_TTL) -> Iterator[Lock]:
    lock = acquire(conn, namespace, purpose=purpose, ttl=ttl)
    try:
        yield lock
    finally:
        release(conn, lock)
