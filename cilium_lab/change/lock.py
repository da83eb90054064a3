"""One change at a time per cluster: a coordination.k8s.io/v1 Lease `cilium-lab-lock` in the Cilium namespace,
renewed while its holder works. A Cilium config change, a restore, lab 15's host tuning and a host restore all
take it.

What a change uses:
- `held(conn, namespace, purpose=..., duration=..., on_lost=..., warn=...)`: a context manager that takes
  the lease, yields a `Lock` and releases it on the way out. A release that fails (API server gone, 5xx)
  is a warning (`warn`, default the `cilium_lab` logger; also kept in `Lock.warnings`), never the error:
  an exception of the work inside propagates unchanged.
- `acquire(...)` -> `Lock` (renewal started) and `release(conn, lock)` (renewal stopped, lease deleted;
  raises `ClusterError` when the delete fails for another reason than the lease being gone or taken).
- `Lock.check()` raises `LeaseLost` once the lease is lost: renewal failed for longer than the
  duration (another run may have taken it since), or someone took over or deleted it. A transaction calls
  it between steps. `Lock.lost` says the same without raising; `on_lost(reason)` is called once, from
  the renewal thread, when that thread finds out.
- `LockHeld` (exit code 3): another holder's lease is live.
- `status`, `legacy_lock`, `break_lease`, `remove_legacy_lock`: what `cilium-lab unlock` shows and deletes.

Taking is an atomic create (409 AlreadyExists: someone has it). A lease is live while renewTime +
leaseDurationSeconds is ahead of this machine's clock (holders' clocks are assumed NTP-close: skew eats
into the duration). An expired lease, or a malformed one (no holder; renewTime missing, without a time
zone, not a time, or more than a duration ahead; duration missing, not a positive finite number) is
taken over by an update guarded by its resourceVersion with leaseTransitions + 1, so of two takers one
wins and the other gets 409 and is refused. The holder identity is `user@host pid N run ID`.
Renewal: `cluster.leases.Renewer`, a daemon thread that writes renewTime every duration / 3, each request
timing out after duration / 3.
Older versions of cilium-lab locked with a ConfigMap of the same name; nothing creates it any more, and
`unlock` reports and removes a leftover one.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cilium_lab.cluster import apierrors, configmaps, leases
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, InputError

NAME = "cilium-lab-lock"
DEFAULT_DURATION = 30  # seconds a lease outlives its last renewal; renewed every third of it
PURPOSE = "cilium-lab.io/purpose"  # annotation: what the holder is doing
LABELS = {"app.kubernetes.io/managed-by": "cilium-lab"}
RUN_ID = secrets.token_hex(4)  # one per process: tells two runs of one pid apart across reboots
log = logging.getLogger("cilium_lab")


class LockHeld(ClusterError):
    """Another change holds a live lease: nothing was changed."""

    exit_code = 3


class LeaseLost(ClusterError):
    """Our lease was lost while we worked: renewal failed past its duration, or someone took or deleted it."""


def default_holder() -> str:
    return f"{leases.holder_identity()} run {RUN_ID}"


def _now() -> datetime:
    return datetime.now(UTC)


def _ago(seconds: float) -> str:
    seconds = abs(seconds)
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def expiry(spec: leases.LeaseSpec, now: datetime | None = None) -> tuple[bool, str]:
    """(live, why): live while renewTime + duration is ahead of now; a malformed lease counts as expired."""
    now = now or _now()
    if spec.problems:
        return False, f"malformed ({'; '.join(spec.problems)}): counts as expired"
    assert spec.renewed is not None and spec.duration is not None
    left = (spec.renewed - now).total_seconds() + spec.duration
    if left > 2 * spec.duration:
        return False, f"malformed (renewTime {spec.renewed.isoformat()} is in the future): counts as expired"
    if left > 0:
        return True, f"live: renewed {_ago(left - spec.duration)} ago, expires in {_ago(left)} unless renewed"
    return False, f"expired {_ago(left)} ago (renewTime + {spec.duration:g} s)"


def describe(spec: leases.LeaseSpec) -> str:
    """`holder since acquireTime (purpose)`, each part as far as the lease has it."""
    since = spec.acquired.isoformat(timespec="seconds") if spec.acquired else "?"
    purpose = spec.annotations.get(PURPOSE, "")
    return f"{spec.holder or '(no holder)'} since {since}" + (f" ({purpose})" if purpose else "")


@dataclass
class Lock:
    """A lease we hold. `check()` raises `LeaseLost` once it is lost; `release` stops the renewal."""

    namespace: str
    holder: str
    since: str
    duration: int
    on_lost: Callable[[str], None] | None = None
    warnings: list[str] = field(default_factory=list)
    _renewer: leases.Renewer | None = field(default=None, repr=False)

    @property
    def resource_version(self) -> str:
        return self._renewer.resource_version if self._renewer else ""

    @property
    def lost(self) -> bool:
        return bool(self.lost_reason)

    @property
    def lost_reason(self) -> str:
        return self._renewer.lost_reason if self._renewer else ""

    def check(self) -> None:
        """Raise `LeaseLost` when the lease is no longer ours; the work should stop and undo."""
        if reason := self.lost_reason:
            raise LeaseLost(f"lost the change lease {self.namespace}/{NAME}: {reason}")

    def _stop_renewing(self) -> None:
        if self._renewer:
            self._renewer.stop()


def _spec(holder: str, duration: int, acquired: str, transitions: int) -> dict[str, Any]:
    now = leases.micro_time(_now())
    return {
        "holderIdentity": holder,
        "acquireTime": acquired or now,
        "renewTime": now,
        "leaseDurationSeconds": duration,
        "leaseTransitions": transitions,
    }


def _check_duration(duration: float) -> int:
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not math.isfinite(duration):
        raise InputError(f"lease duration must be a whole number of seconds >= 1, got {duration!r}")
    if duration < 1 or duration != int(duration):
        raise InputError(f"lease duration must be a whole number of seconds >= 1, got {duration!r}")
    return int(duration)


def acquire(
    conn: Connection,
    namespace: str,
    *,
    purpose: str = "",
    holder: str = "",
    duration: float = DEFAULT_DURATION,
    on_lost: Callable[[str], None] | None = None,
) -> Lock:
    """Take the lease (or take over an expired or malformed one) and start renewing it.

    Raises `LockHeld` when another holder's lease is live, or another taker won the race for an expired one.
    """
    seconds = _check_duration(duration)
    holder = holder or default_holder()
    annotations = {PURPOSE: purpose} if purpose else {}
    for _ in range(3):  # a lease deleted between our create and our read: create again
        spec, sent = _spec(holder, seconds, "", 0), time.monotonic()
        try:
            obj = leases.create(
                conn, leases.body(namespace, NAME, spec, labels=LABELS, annotations=annotations)
            )
            return _held(conn, namespace, obj, seconds, on_lost, sent)
        except apierrors.AlreadyExists:
            pass
        try:
            current = leases.read(conn, namespace, NAME)
        except apierrors.NotFound:
            continue
        found = leases.parse(current)
        live, why = expiry(found)
        if live:
            raise LockHeld(
                f"another change holds the lock: {describe(found)}; lease {namespace}/{NAME} is {why}."
                f" Wait for it to finish (if that run died, its lease expires within {_ago(found.duration or 0)}"
                " and the next run takes it over), or break it: cilium-lab unlock --approve --force"
            )
        spec, sent = _spec(holder, seconds, "", (found.transitions or 0) + 1), time.monotonic()
        body = leases.body(
            namespace,
            NAME,
            spec,
            resource_version=found.resource_version,
            labels=LABELS,
            annotations=annotations,
        )
        try:
            obj = leases.replace(conn, body)
        except apierrors.Conflict:
            raise LockHeld(
                f"someone else took over the expired lease {namespace}/{NAME} just now; try again later"
            ) from None
        except apierrors.NotFound:
            continue
        log.info("took over the change lease %s/%s from %s: it was %s", namespace, NAME, describe(found), why)
        return _held(conn, namespace, obj, seconds, on_lost, sent)
    raise LockHeld(f"the lease {namespace}/{NAME} keeps appearing and vanishing; try again later")


def _held(
    conn: Connection,
    namespace: str,
    obj: dict[str, Any],
    duration: int,
    on_lost: Callable[[str], None] | None,
    sent: float,
) -> Lock:
    spec = obj.get("spec") or {}
    lock = Lock(namespace, spec.get("holderIdentity", ""), spec.get("acquireTime", ""), duration, on_lost)
    what = f"the change lease {namespace}/{NAME}"
    lock._renewer = leases.Renewer(conn, obj, duration, what=what, sent=sent, on_lost=on_lost)
    return lock


def release(conn: Connection, lock: Lock) -> None:
    """Stop renewing and delete the lease if it is still ours (guarded by resourceVersion).

    A lease already gone or taken over by someone else is left alone (noted in `lock.warnings`); any other
    failure raises `ClusterError` (the lease then expires by itself within its duration)."""
    lock._stop_renewing()
    try:
        leases.delete(conn, lock.namespace, NAME, lock.resource_version, timeout=min(conn.timeout, 10.0))
    except apierrors.NotFound:
        lock.warnings.append(f"the lease {lock.namespace}/{NAME} was already gone when released")
    except apierrors.Conflict:
        lock.warnings.append(
            f"the lease {lock.namespace}/{NAME} had been taken over by another run; left to it"
        )


@contextmanager
def held(
    conn: Connection,
    namespace: str,
    *,
    purpose: str = "",
    duration: float = DEFAULT_DURATION,
    on_lost: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> Iterator[Lock]:
    """Hold the lease while the block runs; a failed release is a warning, never the block's error."""
    lock = acquire(conn, namespace, purpose=purpose, duration=duration, on_lost=on_lost)
    try:
        yield lock
    finally:
        try:
            release(conn, lock)
        except ClusterError as err:
            line = (
                f"could not release the change lease {namespace}/{NAME} ({err}); it expires by itself within"
                f" {lock.duration} s, or: cilium-lab unlock --approve --force"
            )
            lock.warnings.append(line)
            (warn or log.warning)(line)


# cilium-lab unlock --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holding:
    """The lease as `unlock` shows it."""

    namespace: str
    spec: leases.LeaseSpec
    live: bool
    why: str

    def line(self) -> str:
        return f"lease {self.namespace}/{NAME}: held by {describe(self.spec)}; {self.why}"


def status(conn: Connection, namespace: str) -> Holding | None:
    """Who holds the lease and whether it is live; None when there is none."""
    try:
        obj = leases.read(conn, namespace, NAME)
    except apierrors.NotFound:
        return None
    spec = leases.parse(obj)
    live, why = expiry(spec)
    return Holding(namespace, spec, live, why)


def break_lease(conn: Connection, holding: Holding) -> None:
    """Delete the lease as it was read; `LockHeld` when it changed since (renewed or taken over)."""
    try:
        leases.delete(conn, holding.namespace, NAME, holding.spec.resource_version)
    except apierrors.NotFound:
        return
    except apierrors.Conflict:
        raise LockHeld(
            f"the lease {holding.namespace}/{NAME} changed since it was read (renewed or taken over):"
            " nothing deleted; run cilium-lab unlock again to see who holds it now"
        ) from None


def legacy_lock(conn: Connection, namespace: str) -> configmaps.ConfigMapState | None:
    """The lock ConfigMap older versions created (it no longer stops anything); None when there is none."""
    try:
        return configmaps.read(conn, namespace, NAME)
    except apierrors.NotFound:
        return None


def describe_legacy(state: configmaps.ConfigMapState) -> str:
    holder, since = state.data.get("holder", "?"), state.data.get("since", "?")
    return (
        f"configmap {state.namespace}/{NAME}: the lock of an older cilium-lab (holder {holder} since {since});"
        " nothing reads it any more"
    )


def remove_legacy_lock(conn: Connection, state: configmaps.ConfigMapState) -> None:
    try:
        configmaps.delete(conn, state.namespace, NAME, state.resource_version)
    except apierrors.NotFound:
        return
