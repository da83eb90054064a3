"""The control loop of the embedded cluster: the DaemonSet controller and the pod lifecycle driver.

Runs as an asyncio task of the server; `tick()` runs with the store lock held and asks `kubelet` for
scheduling and container starts. The loop wakes on store writes and fault changes (and every `Timing.tick`
seconds while a pod waits on the clock) but ticks only when `due()`: the store or the faults changed since
the last tick, or a pod waits on the clock (Pending, or a crash-loop back-off), or a second has passed (a
heartbeat, for any input not tracked here). An idle cluster then costs next to no CPU, where a full tick
every 10 ms copied every DaemonSet a hundred times a second. The DaemonSet controller keeps one pod per
eligible node, labels pods with a hash of the pod template (controller-revision-hash)
and rolls a changed template out node by node: old pods that are unavailable go at once, then one
available old pod at a time while fewer than maxUnavailable pods are unavailable (RollingUpdate, as
the real controller does). Status counters (desired/current/ready/updated/available,
observedGeneration) are what `kubectl rollout status` reads. Events (`events`): the DaemonSet
controller's `SuccessfulCreate`/`SuccessfulDelete` on the DaemonSet (pkg/controller/controller_utils.go),
the scheduler's `Scheduled` for its pods (DaemonSet pods go through the default scheduler since 1.12),
and, through `kubelet`, the kubelet's container events and `BackOff`. Simplifications: no
ControllerRevision objects, no maxSurge, no minReadySeconds; pods are deleted without a grace period
(and with their DaemonSet, as the garbage collector would, which records no event).
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from cilium_lab.sim.control import kubelet
from cilium_lab.sim.control.backend import Backend
from cilium_lab.sim.control.events import Recorder
from cilium_lab.sim.state import selectors
from cilium_lab.sim.state.admission import generate_name

HASH_LABEL = "controller-revision-hash"
DS_KEY = "daemonsets.apps"
DS_COMPONENT = "daemonset-controller"  # the source of the DaemonSet controller's event recorder
HEARTBEAT = 1.0  # seconds: the longest the loop goes without a tick


def template_hash(ds: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(ds["spec"]["template"], sort_keys=True).encode()).hexdigest()[:10]


class Controllers:
    def __init__(self, backend: Backend) -> None:
        self.b = backend
        with backend.store.lock:
            self.events = Recorder(backend.store)
        self._pending_since: dict[str, float] = {}  # pod uid -> wall time it was first seen Pending on a node
        self._restart_at: dict[str, float] = {}  # crash-looping pod uid -> wall time of its next restart
        self._seen_revision = -1  # the store's revision after the last tick (-1: never ticked)
        self._last_tick = 0.0
        self._waiting = False  # the last tick left a pod that waits on the clock
        self._faults_changed = False
        self.wake: Callable[[], None] = lambda: None  # the loop's: called when a fault changes
        backend.faults.on_change = self._on_faults_changed

    def _on_faults_changed(self) -> None:
        self._faults_changed = True
        self.wake()

    def due(self, now: float | None = None) -> bool:
        """Whether a tick could change anything now (see the module docstring)."""
        now = time.monotonic() if now is None else now
        return (
            self._waiting
            or self._faults_changed
            or self.b.store.revision != self._seen_revision
            or now - self._last_tick >= HEARTBEAT
        )

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.b.store.lock:
            self._faults_changed, self._waiting, self._last_tick = False, False, now
            # what this tick writes may call for another (the next pod of a rollout): the revision it
            # started from is the one seen, so a tick that wrote anything is followed by one more
            revision = self.b.store.revision
            kubelet.sync_nodes(self.b)
            # read once per tick, not per use; while the lock is held only this tick writes (DaemonSets
            # only their status)
            daemonsets = self.b.store.view(DS_KEY)  # the stored objects: read here, written as new dicts
            eligible = self._eligible_nodes(daemonsets)
            for ds in daemonsets:
                self._sync_daemonset(ds, eligible[ds["metadata"]["uid"]])
            kubelet.schedule(self.b, self.events)
            self._sync_pods(now)
            for ds in daemonsets:
                self._sync_status(ds, eligible[ds["metadata"]["uid"]])
            self._collect_garbage(daemonsets)
            self._seen_revision = revision

    def tick_kubelets(self, now: float | None = None) -> None:
        """Only the kubelets' part of a tick (pods bound to a node start, crash-loop, turn (un)ready): for
        a node side whose pods come from a real API server's DaemonSet controller and scheduler."""
        now = time.monotonic() if now is None else now
        with self.b.store.lock:
            self._sync_pods(now)
            self._forget({p["metadata"]["uid"] for p in self.b.store.view("pods")})

    # DaemonSets ------------------------------------------------------------------------------------
    def _owned(self, ds: dict[str, Any]) -> list[dict[str, Any]]:
        uid = ds["metadata"]["uid"]
        return [
            p
            for p in self.b.store.view("pods", ds["metadata"]["namespace"])
            if any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences") or [])
        ]

    def _eligible_nodes(self, daemonsets: list[dict[str, Any]]) -> dict[str, list[str]]:
        """DaemonSet uid -> the nodes its pods belong on."""
        nodes = [n for n in self.b.store.view("nodes") if n["metadata"]["name"] in self.b.nodes]
        out: dict[str, list[str]] = {}
        for ds in daemonsets:
            wanted = {"matchLabels": ds["spec"]["template"]["spec"].get("nodeSelector") or {}}
            out[ds["metadata"]["uid"]] = [
                n["metadata"]["name"]
                for n in nodes
                if selectors.match_label_selector(wanted, n["metadata"].get("labels") or {})
            ]
        return out

    def _sync_daemonset(self, ds: dict[str, Any], eligible: list[str]) -> None:
        current = template_hash(ds)
        pods = self._owned(ds)
        old = sorted(
            (p for p in pods if p["metadata"].get("labels", {}).get(HASH_LABEL) != current),
            key=lambda p: p["spec"].get("nodeName", ""),
        )
        gone = {self._delete(pod, ds) for pod in old if not _available(pod)}
        old = [p for p in old if _available(p)]
        pods = [p for p in pods if p["metadata"]["uid"] not in gone]
        unavailable = sum(1 for p in pods if not _available(p))
        unavailable += len(set(eligible) - {p["spec"].get("nodeName") for p in pods})
        budget = max(0, _max_unavailable(ds) - unavailable)
        gone = {self._delete(pod, ds) for pod in old[:budget]}
        covered = {p["spec"].get("nodeName") for p in pods if p["metadata"]["uid"] not in gone}
        for node in eligible:
            if node not in covered:
                pod = self.b.store.create("pods", _new_pod(ds, node, current, self.b))
                message = f"Created pod: {pod['metadata']['name']}"
                self.events.emit(ds, "SuccessfulCreate", message, component=DS_COMPONENT)
                self.events.emit_scheduled(pod, node, kubelet.scheduler_instance(self.b))

    def _delete(self, pod: dict[str, Any], ds: dict[str, Any] | None = None) -> str:
        """Delete a pod (`ds`: its DaemonSet's controller does, and records that); return its uid."""
        self.b.store.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        if ds is not None:
            message = f"Deleted pod: {pod['metadata']['name']}"
            self.events.emit(ds, "SuccessfulDelete", message, component=DS_COMPONENT)
        return pod["metadata"]["uid"]

    def _sync_status(self, ds: dict[str, Any], eligible: list[str]) -> None:
        current = template_hash(ds)
        pods = self._owned(ds)
        desired = len(eligible)
        available = sum(1 for p in pods if _available(p))
        status = {
            **ds.get("status", {}),
            "desiredNumberScheduled": desired,
            "currentNumberScheduled": len({p["spec"].get("nodeName") for p in pods}),
            "numberMisscheduled": 0,
            "numberReady": available,
            "numberAvailable": available,
            "numberUnavailable": desired - available,
            "updatedNumberScheduled": sum(
                1 for p in pods if p["metadata"]["labels"].get(HASH_LABEL) == current
            ),
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        for field in ("numberUnavailable", "numberAvailable", "updatedNumberScheduled"):  # omitempty in Go
            if not status[field]:
                status.pop(field)
        if status != ds.get("status"):
            # a new object (the update stamps its metadata): `ds` is the stored one, never changed in place
            self.b.store.update(
                DS_KEY, {**ds, "metadata": dict(ds["metadata"]), "status": status}, check_version=False
            )

    # pods --------------------------------------------------------------------------------------------
    def _sync_pods(self, now: float) -> None:
        # scanned without copies (this runs every tick); a pod is copied before anything changes it
        pods = self.b.store.view("pods")
        for pod in pods:
            uid, node = pod["metadata"]["uid"], pod["spec"].get("nodeName")
            if not node:
                continue
            if pod["status"].get("phase") == "Pending":
                self._waiting = True
                since = self._pending_since.setdefault(uid, now)
                if now - since >= self.b.timing.start and self._may_start(pod):
                    kubelet.start(self.b, self.events, copy.deepcopy(pod), pods)
            elif kubelet.crash_looping(pod):
                self._waiting = True
                restarts = max(cs.get("restartCount", 0) for cs in pod["status"]["containerStatuses"])
                backoff = self.b.timing.crash_backoff * 2 ** min(
                    restarts, 5
                )  # doubling, capped, as the kubelet's
                if uid not in self._restart_at:
                    self._restart_at[uid] = now + backoff
                    kubelet.back_off(self.events, pod)
                if now >= self._restart_at[uid]:
                    del self._restart_at[uid]
                    kubelet.start(self.b, self.events, copy.deepcopy(pod), pods, restarts + 1)
            else:
                kubelet.sync_readiness(self.b, pod)

    def _may_start(self, pod: dict[str, Any]) -> bool:
        if not kubelet.node_ready(self.b, pod["spec"]["nodeName"]):
            return False
        return not (self.b.faults.rollout_stuck() and kubelet.is_agent_pod(pod))

    def _collect_garbage(self, daemonsets: list[dict[str, Any]]) -> None:
        """Pods of a deleted DaemonSet go too, as the garbage collector deletes dependents; then what
        this loop kept per pod is forgotten for pods that are gone."""
        owners = {ds["metadata"]["uid"] for ds in daemonsets}
        alive: set[str] = set()
        for pod in self.b.store.view("pods"):
            refs = [o for o in pod["metadata"].get("ownerReferences") or [] if o.get("kind") == "DaemonSet"]
            if refs and not any(o.get("uid") in owners for o in refs):
                self._delete(pod)
            else:
                alive.add(pod["metadata"]["uid"])
        self._forget(alive)

    def _forget(self, alive: set[str]) -> None:
        """Drop what this loop and the backend kept per pod for pods whose uid is not in `alive`."""
        for table in (self._pending_since, self._restart_at, self.b.boots, self.b.boot_configs):
            for uid in [u for u in table if u not in alive]:
                del table[uid]


def _available(pod: dict[str, Any]) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return (
        pod.get("status", {}).get("phase") == "Running"
        and bool(statuses)
        and all(cs.get("ready") for cs in statuses)
    )


def _max_unavailable(ds: dict[str, Any]) -> int:
    value = ((ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", 1)
    if isinstance(value, str) and value.endswith("%"):
        return 1  # simplification: percentages count as one node
    return max(1, int(value))


def _new_pod(ds: dict[str, Any], node: str, revision: str, b: Backend) -> dict[str, Any]:
    template = json.loads(json.dumps(ds["spec"]["template"]))
    meta = template.get("metadata") or {}
    labels = {
        **(meta.get("labels") or {}),
        HASH_LABEL: revision,
        "pod-template-generation": str(ds["metadata"].get("generation", 1)),
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": generate_name(f"{ds['metadata']['name']}-"),
            "generateName": f"{ds['metadata']['name']}-",
            "namespace": ds["metadata"]["namespace"],
            "labels": labels,
            "annotations": meta.get("annotations") or {},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "name": ds["metadata"]["name"],
                    "uid": ds["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {**template["spec"], "nodeName": node},
        "status": {"phase": "Pending", "qosClass": "Burstable", "hostIP": b.nodes[node].internal_ip},
    }
    if not pod["metadata"]["annotations"]:
        del pod["metadata"]["annotations"]
    return pod
