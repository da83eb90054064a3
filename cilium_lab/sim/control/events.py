"""Core v1 Events the emulated control plane records where it acts, kept in the store and bounded.

One `Recorder` per running server writes `events` objects into the store, which the generic
handlers then serve (list, watch, field selectors for `kubectl describe`). Events look like
those of a Kubernetes 1.26 cluster: controllers and kubelets use client-go's legacy recorder
(tools/record, v0.26: name `<object>.<hex nanoseconds>`, source {component, host}, first/last
timestamp and count; reportingComponent/Instance left empty), and a repeat of the same event (same
object, reason, message, source) raises `count` and `lastTimestamp` instead of adding one, as its
EventCorrelator does. The scheduler's `Scheduled` comes from the newer events.k8s.io recorder
(eventTime, reportingComponent, no source or count). Only `cap` events are kept: beyond it the one
seen least recently is deleted (a real server expires events after --event-ttl, 1 h by default).
Simplifications: no aggregation of similar events with different messages, no rate limiting; events
clients create through the API count towards the cap only from the next server start.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from cilium_lab.sim.state import k8s_errors
from cilium_lab.sim.state.object_store import Store, now_rfc3339

KEY = "events"
CAP = 1000
Obj = dict[str, Any]
Dedup = tuple[str, ...]  # what client-go's getEventKey compares: source, object, type, reason, message


def reference(obj: Obj, field_path: str = "") -> Obj:
    """An ObjectReference to a stored object, as client-go's ref.GetReference builds it."""
    meta = obj["metadata"]
    ref = {
        "kind": obj.get("kind", ""),
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if field_path:
        ref["fieldPath"] = field_path
    return {k: v for k, v in ref.items() if v}


def _dedup_key(event: Obj) -> Dedup:
    ref, source = event["involvedObject"], event.get("source") or {}
    return (
        source.get("component", ""),
        source.get("host", ""),
        ref.get("kind", ""),
        ref.get("namespace", ""),
        ref.get("name", ""),
        ref.get("uid", ""),
        ref.get("fieldPath", ""),
        event.get("type", ""),
        event.get("reason", ""),
        event.get("message", ""),
    )


class Recorder:
    """Writes events into `store`; call with the store lock held (the controllers' tick holds it)."""

    def __init__(self, store: Store, cap: int = CAP) -> None:
        self.store, self.cap = store, cap
        self._last_ns = 0
        # (namespace, name) -> dedup key, least recently seen first: the eviction order
        self._seen: OrderedDict[tuple[str, str], Dedup] = OrderedDict()
        self._by_key: dict[Dedup, tuple[str, str]] = {}
        # events already stored (a restored state) count towards the cap, oldest first
        for event in sorted(store.view(KEY), key=lambda e: int(e["metadata"]["resourceVersion"])):
            self._remember((event["metadata"]["namespace"], event["metadata"]["name"]), event)
        self._evict()

    def _remember(self, at: tuple[str, str], event: Obj) -> None:
        key = _dedup_key(event) if "involvedObject" in event else ("", *at)
        self._seen[at] = key
        self._by_key[key] = at

    def _name(self, ref: Obj) -> str:
        # unique even for two events of one object within a clock tick
        self._last_ns = max(time.time_ns(), self._last_ns + 1)
        return f"{ref['name']}.{self._last_ns:x}"

    def emit(
        self,
        involved: Obj,
        reason: str,
        message: str,
        *,
        component: str,
        host: str = "",
        type_: str = "Normal",
        field_path: str = "",
    ) -> None:
        """An event from a legacy recorder (controllers, kubelets), folded into an equal earlier one."""
        ref = reference(involved, field_path)
        now = now_rfc3339()
        source = {"component": component, "host": host} if host else {"component": component}
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"namespace": ref.get("namespace") or "default"},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": "",
            "reportingInstance": "",
        }
        if self._bump(_dedup_key(event), now):
            return
        self._create(event, ref)

    def emit_scheduled(self, pod: Obj, node: str, instance: str) -> None:
        """The scheduler's `Scheduled`, written by its events.k8s.io/v1 recorder and read back as core/v1."""
        ref = reference(pod)
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"namespace": ref["namespace"]},
            "involvedObject": ref,
            "reason": "Scheduled",
            "message": f"Successfully assigned {ref['namespace']}/{ref['name']} to {node}",
            "source": {},
            "firstTimestamp": None,
            "lastTimestamp": None,
            "type": "Normal",
            # whole seconds, like the kubelet's timestamps: kubectl sorts describe's events by time, and
            # an emulated pod starts within the second it is bound (a real one takes longer)
            "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "action": "Binding",
            "reportingComponent": "default-scheduler",
            "reportingInstance": instance,
        }
        self._create(event, ref)

    def _bump(self, key: Dedup, now: str) -> bool:
        at = self._by_key.get(key)
        current = self.store.find(KEY, *at) if at else None
        if at is None or current is None:
            return False
        current["count"] = int(current.get("count") or 1) + 1
        current["lastTimestamp"] = now
        self.store.update(KEY, current, check_version=False)
        self._seen.move_to_end(at)
        return True

    def _create(self, event: Obj, ref: Obj) -> None:
        event["metadata"]["name"] = self._name(ref)
        created = self.store.create(KEY, event)
        self._remember((created["metadata"]["namespace"], created["metadata"]["name"]), created)
        self._evict()

    def _evict(self) -> None:
        while len(self._seen) > self.cap:
            (namespace, name), key = self._seen.popitem(last=False)
            if self._by_key.get(key) == (namespace, name):
                del self._by_key[key]
            with contextlib.suppress(k8s_errors.ApiError):  # a client deleted it already
                self.store.delete(KEY, namespace, name)

    def __len__(self) -> int:
        return len(self._seen)
