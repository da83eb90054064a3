"""Validation and defaulting of objects on create and update, before they reach the store.

Applies to POST/PUT/PATCH. Checks what a real API server checks first (names are RFC 1123 subdomains, a
Namespace's an RFC 1123 label and a Service's an RFC 1035 label; the namespace exists, ConfigMap keys, a pod
has containers, a DaemonSet's selector matches its template, a Lease's times and durations, a
CiliumNodeConfig has the fields its CRD's schema requires), then Pod Security admission for pods
(`pod_security`: 403 Forbidden), and fills the defaults the rest of this emulator relies on (pod phase
Pending, a Service's ClusterIP from the service CIDR, a NodePort Service's node ports from 30000-32767, lowest
free first where a real server picks at random). Errors are 422 Invalid with causes, as `kubectl` shows them.
Simplification: only these checks; everything else is accepted as sent.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from cilium_lab.sim.state import k8s_errors, pod_security
from cilium_lab.sim.state.object_store import Store
from cilium_lab.sim.state.resources import Resource

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
# apimachinery pkg/util/validation (v0.32): IsDNS1123Label and IsDNS1035Label, as RegexError words them
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's generateName alphabet


def generate_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(NAME_CHARS) for _ in range(5))


def prepare(
    store: Store, res: Resource, namespace: str | None, obj: Any, service_cidr: str
) -> dict[str, Any]:
    """Check and default `obj` for a create in `namespace`; return it (modified in place)."""
    if not isinstance(obj, dict):
        raise k8s_errors.bad_request("the body of the request must be a JSON object")
    meta = obj.setdefault("metadata", {})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = generate_name(meta["generateName"])
    if res.namespaced:
        if meta.get("namespace") and namespace and meta["namespace"] != namespace:
            raise k8s_errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        meta["namespace"] = namespace or meta.get("namespace") or "default"
        if store.find("namespaces", "", meta["namespace"]) is None:
            raise k8s_errors.not_found("namespaces", meta["namespace"])
    else:
        meta.pop("namespace", None)
    obj["apiVersion"], obj["kind"] = res.group_version, res.kind
    validate(res, obj)
    if res.key == "pods":  # a validating admission plugin: after the object's own validation
        pod_security.admit(store.find("namespaces", "", meta["namespace"]), obj)
    DEFAULTS.get(res.key, lambda o, s, c: None)(obj, store, service_cidr)
    return obj


def validate(res: Resource, obj: dict[str, Any]) -> None:
    name = obj["metadata"].get("name") or ""
    causes: list[tuple[str, str, str]] = []
    if not name:
        causes.append(
            ("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")
        )
    elif res.group == "rbac.authorization.k8s.io":  # RBAC names are path segments ("system:masters")
        if name in (".", "..") or "/" in name or "%" in name:
            causes.append(
                (
                    "metadata.name",
                    "FieldValueInvalid",
                    f"Invalid value: \"{name}\": may not contain '/' or '%'",
                )
            )
    else:
        causes += [
            ("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {m}')
            for m in _name_rule(res, name)
        ]
    causes += CHECKS.get(res.key, lambda o: [])(obj)
    if causes:
        raise k8s_errors.invalid(res.kind, name, causes, res.group)


def _name_rule(res: Resource, name: str) -> list[str]:
    """What the resource's name validation says about `name` (pkg/apis/core/validation, 1.32): a Namespace's
    name is an RFC 1123 label, a Service's an RFC 1035 label, every other name an RFC 1123 subdomain."""
    if res.key == "namespaces":
        rule, limit, message = DNS1123_LABEL, 63, LABEL_MSG
    elif res.key == "services":
        rule, limit, message = DNS1035_LABEL, 63, DNS1035_MSG
    else:
        rule, limit, message = DNS1123_SUBDOMAIN, 253, SUBDOMAIN_MSG
    errors = [f"must be no more than {limit} characters"] if len(name) > limit else []
    if not rule.match(name):
        dots = rule is DNS1123_LABEL and DNS1123_SUBDOMAIN.match(name)  # a subdomain, but not a label
        errors.append("must not contain dots" if dots else message)
    return errors


def _check_configmap(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    causes = []
    for key, value in (obj.get("data") or {}).items():
        if not CONFIG_KEY.match(key):
            message = f"Invalid value: \"{key}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
            causes.append((f"data[{key}]", "FieldValueInvalid", message))
        if not isinstance(value, str):
            raise k8s_errors.bad_request(
                f'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal {type(value).__name__} into Go struct field ConfigMap.data of type string'
            )
    return causes


def _check_pod(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    containers = (obj.get("spec") or {}).get("containers") or []
    if not containers:
        return [("spec.containers", "FieldValueRequired", "Required value")]
    return [
        (f"spec.containers[{i}].image", "FieldValueRequired", "Required value")
        for i, c in enumerate(containers)
        if not c.get("image")
    ]


def _check_daemonset(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    spec = obj.get("spec") or {}
    wanted = (spec.get("selector") or {}).get("matchLabels") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not wanted:
        return [("spec.selector", "FieldValueRequired", "Required value")]
    if any(labels.get(k) != v for k, v in wanted.items()):
        return [
            (
                "spec.template.metadata.labels",
                "FieldValueInvalid",
                f"Invalid value: {labels}: `selector` does not match template `labels`",
            )
        ]
    return []


# metav1.MicroTime's JSON form: time.Parse(RFC3339Micro, ...), whose ".000000" takes exactly six digits
MICRO_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}(Z|[+-][0-9]{2}:[0-9]{2})"
)
LEASE_INTS = ("leaseDurationSeconds", "leaseTransitions")


def _lease_decode_error(detail: str) -> k8s_errors.ApiError:
    return k8s_errors.bad_request(f'Lease in version "v1" cannot be handled as a Lease: {detail}')


def _check_lease(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What decoding (types, MicroTime, which it also normalises to UTC) and ValidateLeaseSpec (pkg/apis/coordination/validation, 1.26-1.32)
    refuse: a duration <= 0, negative transitions."""
    spec = obj.get("spec") or {}
    if not isinstance(spec, dict):
        raise _lease_decode_error(
            "json: cannot unmarshal into Go struct field Lease.spec of type v1.LeaseSpec"
        )
    for key in ("acquireTime", "renewTime"):
        value = spec.get(key)
        if value is not None and not (isinstance(value, str) and MICRO_TIME.fullmatch(value)):
            raise _lease_decode_error(f'parsing time "{value}" as "2006-01-02T15:04:05.000000Z07:00"')
        if value is not None:  # stored as decoded and encoded again: MicroTime.MarshalJSON writes UTC, "Z"
            spec[key] = datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for key in LEASE_INTS:
        value = spec.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**31
        ):
            raise _lease_decode_error(
                f"json: cannot unmarshal {value!r} into Go struct field LeaseSpec.spec.{key} of type int32"
            )
    holder = spec.get("holderIdentity")
    if holder is not None and not isinstance(holder, str):
        raise _lease_decode_error(
            "json: cannot unmarshal into Go struct field LeaseSpec.spec.holderIdentity of type string"
        )
    causes = []
    duration, transitions = spec.get("leaseDurationSeconds"), spec.get("leaseTransitions")
    if duration is not None and duration <= 0:
        causes.append(
            (
                "spec.leaseDurationSeconds",
                "FieldValueInvalid",
                f"Invalid value: {duration}: must be greater than 0",
            )
        )
    if transitions is not None and transitions < 0:
        causes.append(
            (
                "spec.leaseTransitions",
                "FieldValueInvalid",
                f"Invalid value: {transitions}: must be greater than or equal to 0",
            )
        )
    return causes


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}


def _check_ciliumnodeconfig(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The CRD's schema (cilium pkg/k8s/apis/cilium.io/client/crds/v2/ciliumnodeconfigs.yaml): `spec`
    with `defaults` (string values) and `nodeSelector` required."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [("spec", "FieldValueRequired", "Required value")]
    causes = [
        (f"spec.{field}", "FieldValueRequired", "Required value")
        for field in ("defaults", "nodeSelector")
        if field not in spec
    ]
    for key, value in (spec.get("defaults") or {}).items():
        if not isinstance(value, str):
            kind = _JSON_TYPES.get(type(value), "null")
            where = f"spec.defaults.{key}"
            message = f'Invalid value: "{kind}": {where} in body must be of type string: "{kind}"'
            causes.append((where, "FieldValueTypeInvalid", message))
    return causes


CHECKS = {
    "configmaps": _check_configmap,
    "pods": _check_pod,
    "daemonsets.apps": _check_daemonset,
    "leases.coordination.k8s.io": _check_lease,
    "ciliumnodeconfigs.cilium.io": _check_ciliumnodeconfig,
}


def _default_pod(obj: dict[str, Any], store: Store, cidr: str) -> None:
    obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    for c in obj["spec"]["containers"]:
        c.setdefault("imagePullPolicy", "IfNotPresent")
    obj["spec"].setdefault("restartPolicy", "Always")


def _default_service(obj: dict[str, Any], store: Store, cidr: str) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    # kube-apiserver's defaults for a single-stack cluster (pkg/apis/core/v1/defaults.go, the service registry)
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    if spec.get("clusterIP") in (None, ""):
        spec["clusterIP"] = allocate_cluster_ip(store, cidr)
    if spec["clusterIP"] != "None":
        spec["clusterIPs"] = [spec["clusterIP"]]
    family = (
        ipaddress.ip_network(cidr).version
        if spec["clusterIP"] == "None"
        else ipaddress.ip_address(spec["clusterIP"]).version
    )
    spec.setdefault("ipFamilies", [f"IPv{family}"])
    if spec["type"] in ("NodePort", "LoadBalancer"):
        allocate_node_ports(store, obj)
    obj["status"] = {"loadBalancer": {}}


NODE_PORTS = range(30000, 32768)  # the API server's default --service-node-port-range


def allocate_node_ports(store: Store, obj: dict[str, Any]) -> None:
    """Give every port of a NodePort Service a node port; refuse taken or out-of-range ones as the API does."""
    used = {p.get("nodePort") for s in store.list("services") for p in s["spec"].get("ports") or []}
    name = obj["metadata"]["name"]
    for i, port in enumerate(obj["spec"].get("ports") or []):
        wanted = port.get("nodePort")
        if wanted in (None, 0):
            port["nodePort"] = next((n for n in NODE_PORTS if n not in used), None)
            if port["nodePort"] is None:
                raise k8s_errors.internal("failed to allocate a nodePort: range is full (30000-32767)")
        elif wanted not in NODE_PORTS or wanted in used:
            why = (
                "provided port is already allocated"
                if wanted in used
                else "provided port is not in the valid range. The range of valid ports is 30000-32767"
            )
            field = f"spec.ports[{i}].nodePort"
            raise k8s_errors.invalid(
                "Service", name, [(field, "FieldValueInvalid", f"Invalid value: {wanted}: {why}")]
            )
        used.add(port["nodePort"])


def allocate_cluster_ip(store: Store, cidr: str) -> str:
    used = {s["spec"].get("clusterIP") for s in store.list("services")}
    network = ipaddress.ip_network(cidr)
    for host in network.hosts():
        if str(host) not in used:
            return str(host)
    raise k8s_errors.internal(f"failed to allocate a serviceIP: range is full ({cidr})")


def _default_namespace(obj: dict[str, Any], store: Store, cidr: str) -> None:
    obj["spec"] = {"finalizers": ["kubernetes"]}
    obj["status"] = {"phase": "Active"}
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


def _default_daemonset(obj: dict[str, Any], store: Store, cidr: str) -> None:
    spec = obj["spec"]
    spec.setdefault(
        "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    )
    spec.setdefault("revisionHistoryLimit", 10)
    obj["status"] = {
        "currentNumberScheduled": 0,
        "desiredNumberScheduled": 0,
        "numberMisscheduled": 0,
        "numberReady": 0,
    }


DEFAULTS = {
    "pods": _default_pod,
    "services": _default_service,
    "namespaces": _default_namespace,
    "daemonsets.apps": _default_daemonset,
}
