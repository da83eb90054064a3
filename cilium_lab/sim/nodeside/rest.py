"""Plain JSON requests to the real API server through the official client's configured connection.

The node side sends objects it built as dicts, to paths it builds from the emulator's resource registry, so
it needs no client model classes: `Rest.request` serializes through the client (its TLS, client
certificate or token) and returns the answer's JSON. A status >= 400 raises `RestError` with the Status
object's reason.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import kubernetes.config as k8s_config
from kubernetes.client.exceptions import ApiException

from cilium_lab.sim.state.resources import Resource

Obj = dict[str, Any]
TIMEOUT = 15.0  # seconds per request; a loaded 2-core machine can take a few


class RestError(Exception):
    def __init__(self, status: int, body: Obj) -> None:
        self.status = status
        self.reason = str(body.get("reason", ""))
        super().__init__(f"{status} {self.reason}: {body.get('message', '')}")


class Rest:
    """Requests as one context of a kubeconfig (the node side uses `admin`, as a kubelet uses its own
    credentials and nothing of the labs' roles)."""

    def __init__(self, kubeconfig: str, context: str = "admin") -> None:
        self.client = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        path: str,
        body: Obj | list[Obj] | None = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Obj:
        method_, url, headers, data, _ = self.client.param_serialize(
            method,
            path,
            query_params=list((query or {}).items()),
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self.client.call_api(method_, url, headers, data, _request_timeout=TIMEOUT)
        except ApiException as err:
            raise RestError(err.status or 0, _json(err.body)) from None
        raw = response.read()
        if response.status >= 400:
            raise RestError(response.status, _json(raw))
        return _json(raw)


def _json(raw: bytes | str | None) -> Obj:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {"message": str(raw)[:200]}
    return value if isinstance(value, dict) else {}


def collection(res: Resource, namespace: str | None = None) -> str:
    """The path of a resource's collection (all namespaces when `namespace` is None)."""
    base = f"/api/{res.version}" if not res.group else f"/apis/{res.group}/{res.version}"
    if res.namespaced and namespace is not None:
        base += f"/namespaces/{quote(namespace)}"
    return f"{base}/{res.plural}"


def item(res: Resource, namespace: str | None, name: str, sub: str = "") -> str:
    """The path of one object (and its subresource `sub`, e.g. "status")."""
    path = f"{collection(res, namespace if res.namespaced else None)}/{quote(name)}"
    return f"{path}/{sub}" if sub else path
