"""Server-side `Table` output, as kubectl asks for it (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`).

Used for get/list/watch when the client accepts a Table. Columns follow the real server's printers
(k8s.io/kubernetes/pkg/printers/internalversion): priority 0 columns are the default `kubectl get`,
priority 1 the extra `-o wide` ones. Resources without a printer get Name and Age, as a CRD without additionalPrinterColumns does. Events have no Name first column:
LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (printEvent; the server always fills the wide cells too).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
Column = tuple[str, str, int, Callable[[Obj], Any]]  # (name, type, priority, cell)


def human_age(created: str | None, now: datetime | None = None) -> str:
    """kubectl's duration.HumanDuration for an age column."""
    if not created:
        return "<unknown>"
    now = now or datetime.now(UTC)
    seconds = int((now - datetime.fromisoformat(created)).total_seconds())  # Time or MicroTime, "Z"
    if seconds < 0:
        return "0s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d" if days < 730 else f"{days // 365}y"


def _age(obj: Obj) -> str:
    return human_age(obj["metadata"].get("creationTimestamp"))


def _node_status(node: Obj) -> str:
    ready = next((c for c in node.get("status", {}).get("conditions", []) if c["type"] == "Ready"), None)
    status = "Ready" if ready and ready["status"] == "True" else "NotReady"
    return status + (",SchedulingDisabled" if node.get("spec", {}).get("unschedulable") else "")


def _node_roles(node: Obj) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix) :] for k in node["metadata"].get("labels", {}) if k.startswith(prefix))
    return ",".join(roles) or "<none>"


def _address(node: Obj, kind: str) -> str:
    return next(
        (a["address"] for a in node.get("status", {}).get("addresses", []) if a["type"] == kind), "<none>"
    )


def _pod_status(pod: Obj) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for cs in pod.get("status", {}).get("containerStatuses", []):
        waiting = cs.get("state", {}).get("waiting")
        if waiting and waiting.get("reason"):
            return waiting["reason"]
    return pod.get("status", {}).get("phase", "Pending")


def _pod_ready(pod: Obj) -> str:
    statuses = pod.get("status", {}).get("containerStatuses", [])
    total = len(pod.get("spec", {}).get("containers", []))
    return f"{sum(1 for cs in statuses if cs.get('ready'))}/{total}"


def _ports(svc: Obj) -> str:
    ports = svc.get("spec", {}).get("ports", [])
    return ",".join(f"{p['port']}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _selector(selector: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items())) or "<none>"


def _containers(ds: Obj, field: str) -> str:
    return ",".join(c.get(field, "") for c in ds["spec"]["template"]["spec"].get("containers", []))


def _st(obj: Obj, key: str) -> int:
    return int(obj.get("status", {}).get(key, 0))


def _event_seen(event: Obj) -> tuple[str, str, int]:
    """(last seen, first seen, count) as printEvent derives them: an events.k8s.io-written event
    has only eventTime (and a series for repeats), a legacy one first/lastTimestamp and count."""
    first = human_age(event.get("firstTimestamp") or event.get("eventTime"))
    last = human_age(event["lastTimestamp"]) if event.get("lastTimestamp") else first
    count = int(event.get("count") or 0)
    if series := event.get("series"):
        last, count = human_age(series.get("lastObservedTime")), int(series.get("count") or 0)
    return last, first, count or 1  # a singleton of the new API has no count


def _event_object(event: Obj) -> str:
    ref = event.get("involvedObject") or {}
    kind = str(ref.get("kind", "")).lower()
    return f"{kind}/{ref['name']}" if ref.get("name") else kind


def _event_source(event: Obj) -> str:
    """formatEventSource: the component (or reportingComponent), then the host (or reportingInstance)."""
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    host = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {host}" if host else component


N = ("Name", "string", 0, lambda o: o["metadata"]["name"])
AGE = ("Age", "string", 0, _age)
COLUMNS: dict[str, list[Column]] = {
    "nodes": [
        N,
        ("Status", "string", 0, _node_status),
        ("Roles", "string", 0, _node_roles),
        AGE,
        ("Version", "string", 0, lambda o: o["status"]["nodeInfo"]["kubeletVersion"]),
        ("Internal-IP", "string", 1, lambda o: _address(o, "InternalIP")),
        ("External-IP", "string", 1, lambda o: _address(o, "ExternalIP")),
        ("OS-Image", "string", 1, lambda o: o["status"]["nodeInfo"]["osImage"]),
        ("Kernel-Version", "string", 1, lambda o: o["status"]["nodeInfo"]["kernelVersion"]),
        ("Container-Runtime", "string", 1, lambda o: o["status"]["nodeInfo"]["containerRuntimeVersion"]),
    ],
    "pods": [
        N,
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, _pod_status),
        (
            "Restarts",
            "string",
            0,
            lambda o: str(
                sum(c.get("restartCount", 0) for c in o.get("status", {}).get("containerStatuses", []))
            ),
        ),
        AGE,
        ("IP", "string", 1, lambda o: o.get("status", {}).get("podIP") or "<none>"),
        ("Node", "string", 1, lambda o: o.get("spec", {}).get("nodeName") or "<none>"),
        ("Nominated Node", "string", 1, lambda o: "<none>"),
        ("Readiness Gates", "string", 1, lambda o: "<none>"),
    ],
    "configmaps": [
        N,
        ("Data", "integer", 0, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
        AGE,
    ],
    # leaseColumnDefinitions and printLease: NAME, HOLDER (spec.holderIdentity, "" when unset), AGE
    "leases.coordination.k8s.io": [
        N,
        ("Holder", "string", 0, lambda o: str((o.get("spec") or {}).get("holderIdentity") or "")),
        AGE,
    ],
    "namespaces": [N, ("Status", "string", 0, lambda o: o.get("status", {}).get("phase", "Active")), AGE],
    "daemonsets.apps": [
        N,
        ("Desired", "integer", 0, lambda o: _st(o, "desiredNumberScheduled")),
        ("Current", "integer", 0, lambda o: _st(o, "currentNumberScheduled")),
        ("Ready", "integer", 0, lambda o: _st(o, "numberReady")),
        ("Up-to-date", "integer", 0, lambda o: _st(o, "updatedNumberScheduled")),
        ("Available", "integer", 0, lambda o: _st(o, "numberAvailable")),
        (
            "Node Selector",
            "string",
            0,
            lambda o: _selector(o["spec"]["template"]["spec"].get("nodeSelector")),
        ),
        AGE,
        ("Containers", "string", 1, lambda o: _containers(o, "name")),
        ("Images", "string", 1, lambda o: _containers(o, "image")),
        ("Selector", "string", 1, lambda o: _selector(o["spec"].get("selector", {}).get("matchLabels"))),
    ],
    # k8s.io/kubernetes/pkg/printers/internalversion/printers.go, eventColumnDefinitions and printEvent
    "events": [
        ("Last Seen", "string", 0, lambda o: _event_seen(o)[0]),
        ("Type", "string", 0, lambda o: o.get("type", "")),
        ("Reason", "string", 0, lambda o: o.get("reason", "")),
        ("Object", "string", 0, _event_object),
        ("Subobject", "string", 1, lambda o: (o.get("involvedObject") or {}).get("fieldPath", "")),
        ("Source", "string", 1, _event_source),
        ("Message", "string", 0, lambda o: str(o.get("message", "")).strip()),
        ("First Seen", "string", 1, lambda o: _event_seen(o)[1]),
        ("Count", "string", 1, lambda o: _event_seen(o)[2]),
        ("Name", "string", 1, lambda o: o["metadata"]["name"]),
    ],
    "services": [
        N,
        ("Type", "string", 0, lambda o: o["spec"].get("type", "ClusterIP")),
        ("Cluster-IP", "string", 0, lambda o: o["spec"].get("clusterIP") or "<none>"),
        ("External-IP", "string", 0, lambda o: "<none>"),
        ("Port(s)", "string", 0, _ports),
        AGE,
        ("Selector", "string", 1, lambda o: _selector(o["spec"].get("selector"))),
    ],
}


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(
    resource_key: str,
    objects: list[Obj],
    resource_version: str,
    include: str = "Metadata",
    headers: bool = True,
) -> Obj:
    """A meta.k8s.io/v1 Table of `objects`; `include` is the request's includeObject (None/Metadata/Object)."""
    columns = COLUMNS.get(resource_key, [N, AGE])
    out: Obj = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
    }
    if headers:
        out["columnDefinitions"] = [
            {
                "name": name,
                "type": kind,
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": prio,
            }
            for name, kind, prio, _ in columns
        ]
    out["rows"] = [
        {"cells": [cell(o) for _, _, _, cell in columns], "object": _row_object(o, include)} for o in objects
    ]
    return out


def wants_table(accept: str) -> bool:
    return "as=Table" in accept.replace(" ", "")
