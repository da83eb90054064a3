"""Discovery documents: /version, /api, /api/v1, /apis, /apis/<group>/<version>.

Built from `state.resources.Registry`. Only the legacy (unaggregated)
discovery is served: kubectl and the Python client ask for aggregated discovery
(apidiscovery.k8s.io/v2) but accept a plain `application/json` answer and fall back, as they do with
older servers. /openapi/v2 is 404; /openapi/v3 is the minimal index of `openapi`.
"""

from __future__ import annotations

from typing import Any

from cilium_lab.sim.state.resources import Registry, Resource


def version(kubernetes_version: str) -> dict[str, Any]:
    core = kubernetes_version.lstrip("v").split("+")[0]
    major, minor = core.split(".")[:2]
    return {
        "major": major,
        "minor": minor,
        "gitVersion": kubernetes_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2023-06-27T00:00:00Z",
        "goVersion": "go1.20.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _resource_entries(res: Resource) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": res.plural,
        "singularName": res.kind.lower(),
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        main["shortNames"] = list(res.short_names)
    if res.categories:
        main["categories"] = list(res.categories)
    entries = [main]
    if res.status_subresource:
        entries.append(
            {
                "name": f"{res.plural}/status",
                "singularName": "",
                "namespaced": res.namespaced,
                "kind": res.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    if res.plural == "pods":
        entries += [
            {
                "name": "pods/exec",
                "singularName": "",
                "namespaced": True,
                "kind": "PodExecOptions",
                "verbs": ["create", "get"],
            },
            {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
        ]
    return entries


def resource_list(registry: Registry, group: str, version_name: str) -> dict[str, Any] | None:
    resources = registry.in_group_version(group, version_name)
    if not resources:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": resources[0].group_version,
        "resources": [entry for r in resources for entry in _resource_entries(r)],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: Registry) -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(n, v) for n, v in registry.groups().items()],
    }


def group(registry: Registry, name: str) -> dict[str, Any] | None:
    versions = registry.groups().get(name)
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)} if versions else None
