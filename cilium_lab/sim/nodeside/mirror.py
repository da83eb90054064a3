"""The real API server's objects in an emulator `Backend`, and the emulated kubelets' results written back.

Each `sync()` lists what the emulator's kubelet, agents and shell read (nodes, pods bound to the profile's
nodes, Services, ConfigMaps and DaemonSets in kube-system, CiliumNodeConfigs) and puts them into the
backend's store as the real server holds them (`Store.mirror`: real uids and resourceVersions). Then the
emulator's kubelets run one tick (`Controllers.tick_kubelets`): bound Pending pods start (the agent boots
with the node's effective cilium-config and CiliumNodeConfigs, or crash-loops), crash-looping ones restart
with back-off, pods on a NotReady node turn unready. Every pod whose status the tick changed (phase, podIP,
hostIP, containerStatuses, conditions) is written back with PUT .../pods/NAME/status at the resourceVersion
it was read at; a conflict is left to the next sync. A pod the API server marks for deletion
(deletionTimestamp) is deleted with grace period 0, as a kubelet does once its containers stopped (they
stop at once here). The kubelets' Events (Pulled, Created, Started, BackOff) are posted to the real API
server as a kubelet's recorder posts them, a repeat as a raised count. Listing, not watching, keeps it
simple: a sync per `PERIOD` on a cluster of a few nodes.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from cilium_lab.sim.control.backend import CILIUM_NS, CNC_KEY, Backend
from cilium_lab.sim.control.controllers import Controllers
from cilium_lab.sim.nodeside import rest
from cilium_lab.sim.nodeside.rest import Rest, RestError

PERIOD = 0.2  # seconds between syncs
EVENTS = "events"
MERGE = "application/merge-patch+json"
Obj = dict[str, Any]
MIRRORED = (  # (store key, namespace; None: all namespaces)
    ("nodes", None),
    ("pods", None),
    ("services", None),
    ("configmaps", CILIUM_NS),
    ("daemonsets.apps", CILIUM_NS),
    (CNC_KEY, None),
)


class Mirror:
    def __init__(self, api: Rest, backend: Backend) -> None:
        self.api = api
        self.b = backend
        self.controllers = Controllers(backend)
        self._read: dict[tuple[str, str], Obj] = {}  # (namespace, name) -> the pod as last read
        self._posted: dict[tuple[str, str], int] = {}  # (namespace, name) of a local event -> count posted

    def sync(self, now: float | None = None) -> None:
        for key, namespace in MIRRORED:
            self.b.store.mirror(key, self._list(key, namespace))
        self.controllers.tick_kubelets(time.monotonic() if now is None else now)
        self._write_back()
        self._post_events()

    def _list(self, key: str, namespace: str | None) -> list[Obj]:
        res = self.b.registry.by_key(key)
        try:
            items = self.api.request("GET", rest.collection(res, namespace)).get("items") or []
        except RestError as err:
            if err.status == 404 and res.custom:
                return []  # the CRD is not installed (yet)
            raise
        for obj in items:
            obj.setdefault("apiVersion", res.group_version)
            obj.setdefault("kind", res.kind)
        if key == "pods":
            items = self._our_pods(items)
        return items

    def _our_pods(self, pods: list[Obj]) -> list[Obj]:
        """The pods bound to our nodes that are not being deleted; those being deleted go now."""
        ours = [p for p in pods if p["spec"].get("nodeName") in self.b.nodes]
        for pod in (p for p in ours if p["metadata"].get("deletionTimestamp")):
            self._finish_deletion(pod)
        kept = [p for p in ours if not p["metadata"].get("deletionTimestamp")]
        self._read = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in kept}
        return kept

    def _finish_deletion(self, pod: Obj) -> None:
        meta = pod["metadata"]
        body = {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}}
        try:
            self.api.request("DELETE", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}", body)
        except RestError as err:
            if err.status not in (404, 409):
                raise

    def _write_back(self) -> None:
        for (namespace, name), read in self._read.items():
            local = self.b.store.find("pods", namespace, name)
            if local is None or local.get("status") == read.get("status"):
                continue
            body = {**read, "status": local["status"]}
            try:
                self.api.request("PUT", f"/api/v1/namespaces/{namespace}/pods/{name}/status", body)
            except RestError as err:
                if err.status not in (404, 409):  # gone, or changed since: the next sync sees it anew
                    raise

    def _post_events(self) -> None:
        with self.b.store.lock:
            events = {
                (e["metadata"]["namespace"], e["metadata"]["name"]): e for e in self.b.store.view(EVENTS)
            }
            due = [
                (at, copy.deepcopy(e))
                for at, e in events.items()
                if self._posted.get(at) != e.get("count", 1)
            ]
        for at in set(self._posted) - set(events):
            del self._posted[at]  # the recorder let it go
        for (namespace, name), event in due:
            path = f"/api/v1/namespaces/{namespace}/events"
            try:
                if (namespace, name) in self._posted:
                    repeat = {"count": event.get("count", 1), "lastTimestamp": event.get("lastTimestamp")}
                    self.api.request("PATCH", f"{path}/{name}", repeat, content_type=MERGE)
                else:
                    self.api.request(
                        "POST", path, {**event, "metadata": {"name": name, "namespace": namespace}}
                    )
            except RestError as err:
                if err.status not in (404, 409):  # the namespace or the event went, or it is there already
                    raise
            self._posted[namespace, name] = event.get("count", 1)
