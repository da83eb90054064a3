"""The object store of the embedded cluster: every API object, one resourceVersion counter, one lock.

It knows nothing of HTTP or of Cilium: it keeps objects as JSON-like dicts keyed by
(resource key, namespace, name), stamps uid/creationTimestamp/resourceVersion/generation, refuses a
stale resourceVersion with 409 Conflict, and records a bounded event log that watches replay from.
Simplification: one global resourceVersion counter (as etcd's revision), no finalizers, no
graceful deletion, no managedFields.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from cilium_lab.sim.state import k8s_errors

Obj = dict[str, Any]
Key = tuple[str, str, str]  # (resource key, namespace or "", name)
Listener = Callable[[dict[str, Any]], None]
EVENT_LOG_SIZE = 2000


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _group_of(resource_key: str) -> str:
    return resource_key.partition(".")[2]


class Store:
    """Thread-safe: every public method takes the one lock; `locked()` lets a caller batch several."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.revision = 0
        self._objects: dict[Key, Obj] = {}
        # the same objects by resource: a list or view reads one resource's objects, not every object
        # stored (the events alone are hundreds)
        self._by_resource: dict[str, dict[Key, Obj]] = {}
        self._events: deque[dict[str, Any]] = deque(maxlen=EVENT_LOG_SIZE)
        self._listeners: list[Listener] = []

    @contextmanager
    def locked(self) -> Iterator[Store]:
        with self.lock:
            yield self

    # reads -----------------------------------------------------------------------------------------
    def get(self, resource: str, namespace: str, name: str) -> Obj:
        with self.lock:
            obj = self._objects.get((resource, namespace, name))
            if obj is None:
                raise k8s_errors.not_found(resource.partition(".")[0], name, _group_of(resource))
            return copy.deepcopy(obj)

    def peek(self, resource: str, namespace: str, name: str) -> Obj:
        """Like `get`, without a copy: for the emulator's own hot read paths (every exec reads its pod),
        which must never change what they get. Stored objects are replaced on write, never changed in
        place, so what `peek` returned stays as it was."""
        with self.lock:
            obj = self._objects.get((resource, namespace, name))
            if obj is None:
                raise k8s_errors.not_found(resource.partition(".")[0], name, _group_of(resource))
            return obj

    def find(self, resource: str, namespace: str, name: str, *, copied: bool = True) -> Obj | None:
        """The object or None; `copied=False` gives the stored object itself, as `peek` does."""
        with self.lock:
            obj = self._objects.get((resource, namespace, name))
            return copy.deepcopy(obj) if obj is not None and copied else obj

    def list(self, resource: str, namespace: str | None = None) -> list[Obj]:
        """Objects of one resource, sorted by namespace and name; `namespace=None` means all."""
        with self.lock:
            return [copy.deepcopy(obj) for obj in self._select(resource, namespace)]

    def view(self, resource: str, namespace: str | None = None) -> list[Obj]:
        """Like `list`, without copies: for the emulator's own hot read paths (every exec resolves
        addresses), which must never change what they get."""
        with self.lock:
            return self._select(resource, namespace)

    def _select(self, resource: str, namespace: str | None) -> list[Obj]:
        of_resource = self._by_resource.get(resource, {})
        keys = sorted(k for k in of_resource if namespace is None or k[1] == namespace)
        return [of_resource[k] for k in keys]

    # writes ----------------------------------------------------------------------------------------
    def create(self, resource: str, obj: Obj) -> Obj:
        meta = obj.setdefault("metadata", {})
        with self.lock:
            key = (resource, meta.get("namespace", ""), meta["name"])
            if key in self._objects:
                raise k8s_errors.already_exists(resource.partition(".")[0], meta["name"], _group_of(resource))
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if "spec" in obj:
                meta["generation"] = 1
            return self._put(key, obj, "ADDED")

    def update(self, resource: str, obj: Obj, *, check_version: bool = True) -> Obj:
        """Replace an object; a resourceVersion in `obj` that is not the stored one is a 409 Conflict."""
        meta = obj["metadata"]
        with self.lock:
            key = (resource, meta.get("namespace", ""), meta["name"])
            old = self._objects.get(key)
            if old is None:
                raise k8s_errors.not_found(resource.partition(".")[0], meta["name"], _group_of(resource))
            sent = meta.get("resourceVersion")
            if check_version and sent and sent != old["metadata"]["resourceVersion"]:
                raise k8s_errors.conflict(resource.partition(".")[0], meta["name"], _group_of(resource))
            for fixed in ("uid", "creationTimestamp"):
                meta[fixed] = old["metadata"][fixed]
            generation = old["metadata"].get("generation")
            if generation is not None:
                changed = obj.get("spec") != old.get("spec")
                meta["generation"] = generation + 1 if changed else generation
            if _same_content(old, obj):
                return copy.deepcopy(old)  # a no-op write keeps the resourceVersion, as the real server does
            return self._put(key, obj, "MODIFIED")

    def delete(self, resource: str, namespace: str, name: str) -> Obj:
        with self.lock:
            key = (resource, namespace, name)
            obj = self._objects.pop(key, None)
            self._by_resource.get(resource, {}).pop(key, None)
            if obj is None:
                raise k8s_errors.not_found(resource.partition(".")[0], name, _group_of(resource))
            self.revision += 1
            # a new dict: what `peek` or `view` handed out earlier keeps its resourceVersion
            obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self.revision)}}
            self._emit("DELETED", key, obj)
            return copy.deepcopy(obj)

    def mirror(self, resource: str, objects: list[Obj]) -> None:
        """Hold exactly `objects` of `resource`, as another API server stored them (uid, resourceVersion and
        all, nothing stamped), with no watch events: the node side of a real control plane mirrors it."""
        with self.lock:
            for key in self._by_resource.pop(resource, {}):
                del self._objects[key]
            for obj in objects:
                meta = obj["metadata"]
                self._set((resource, meta.get("namespace", ""), meta["name"]), copy.deepcopy(obj))

    def _put(self, key: Key, obj: Obj, event_type: str) -> Obj:
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        stored = copy.deepcopy(obj)  # the caller keeps `obj`; the store and the watch event share one copy
        self._set(key, stored)
        self._emit(event_type, key, stored)
        return obj

    def _set(self, key: Key, obj: Obj) -> None:
        self._objects[key] = obj
        self._by_resource.setdefault(key[0], {})[key] = obj

    # watch -----------------------------------------------------------------------------------------
    def _emit(self, event_type: str, key: Key, obj: Obj) -> None:
        # `obj` is a stored (or deleted) object, never changed in place: events carry it as it is
        event = {"type": event_type, "key": key, "revision": self.revision, "object": obj}
        self._events.append(event)
        for listener in list(self._listeners):
            listener(event)

    def subscribe(
        self, listener: Listener, since: int | None = None
    ) -> tuple[list[dict[str, Any]], Callable[[], None]]:
        """Register `listener` for future events; return the logged events after revision `since` and
        an unsubscribe function. Raises 410 Gone when `since` is older than the log reaches back."""
        with self.lock:
            backlog: list[dict[str, Any]] = []
            if since is not None and since < self.revision:
                oldest = self._events[0]["revision"] if self._events else self.revision + 1
                if since + 1 < oldest:
                    raise k8s_errors.gone(f"too old resource version: {since} ({oldest - 1})")
                backlog = [e for e in self._events if e["revision"] > since]
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self.lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return backlog, unsubscribe

    # persistence -----------------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "revision": self.revision,
                "objects": [[list(k), v] for k, v in sorted(self._objects.items())],
            }

    def load(self, data: dict[str, Any]) -> None:
        with self.lock:
            self._objects, self._by_resource = {}, {}
            for key, obj in data["objects"]:
                self._set(tuple(key), obj)  # type: ignore[arg-type]
            self.revision = int(data["revision"])
            self._events.clear()


def _same_content(old: Obj, new: Obj) -> bool:
    strip = ("resourceVersion",)
    a = {**old, "metadata": {k: v for k, v in old["metadata"].items() if k not in strip}}
    b = {**new, "metadata": {k: v for k, v in new["metadata"].items() if k not in strip}}
    return a == b
