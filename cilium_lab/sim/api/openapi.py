"""A minimal OpenAPI v3 index, just enough for kubectl to validate on the server side.

Served at /openapi/v3 and /openapi/v3/<api path>. kubectl (1.27+) reads these to
learn whether a resource's PATCH accepts `fieldValidation`; when it does, kubectl leaves validation to
the server instead of downloading full schemas (/openapi/v2), so `kubectl apply -f` and
`kubectl create -f` work without `--validate=false`. Simplification: the documents carry the PATCH
operation of each resource and no schemas; this server accepts any fields it is sent.
"""

from __future__ import annotations

from typing import Any

from cilium_lab.sim.state.resources import Registry, Resource


def _api_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def root(registry: Registry) -> dict[str, Any]:
    versions = {(r.group, r.version) for r in registry.resources}
    return {
        "paths": {
            _api_path(g, v): {"serverRelativeURL": f"/openapi/v3/{_api_path(g, v)}?hash=sim"}
            for g, v in sorted(versions)
        }
    }


def _item_path(res: Resource) -> str:
    prefix = "/" + _api_path(res.group, res.version)
    middle = "/namespaces/{namespace}" if res.namespaced else ""
    return f"{prefix}{middle}/{res.plural}/{{name}}"


def group_version(registry: Registry, path: str) -> dict[str, Any] | None:
    """The document for `path` ("api/v1", "apis/apps/v1"); None when not served."""
    parts = path.strip("/").split("/")
    group, version = (
        ("", parts[1])
        if parts[0] == "api" and len(parts) == 2
        else (parts[1], parts[2])
        if len(parts) == 3
        else ("?", "?")
    )
    resources = registry.in_group_version(group, version)
    if not resources:
        return None
    paths = {
        _item_path(r): {
            "patch": {
                "operationId": f"patch{r.kind}",
                "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
                "parameters": [
                    {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                    for name in ("dryRun", "fieldManager", "fieldValidation")
                ],
                "responses": {"200": {"description": "OK"}},
            }
        }
        for r in resources
    }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {},
    }
