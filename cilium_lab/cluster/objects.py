"""Read and write Kubernetes objects as plain dicts (the API's own JSON, camelCase keys).

Called by every module in `cluster/`; calls the client's API methods through `apierrors.call` with
`_preload_content=False`, so objects arrive exactly as the API server sent them (no model
conversion that could drop unknown fields or reject partial objects).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cilium_lab.cluster import apierrors
from cilium_lab.cluster.connect import Connection

Obj = dict[str, Any]


def request(
    conn: Connection,
    fn: Callable[..., Any],
    *args: Any,
    verb: str,
    resource: str,
    namespace: str | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> Obj:
    """One API call; the decoded JSON answer (empty dict when the body is empty)."""
    response = apierrors.call(
        fn,
        *args,
        verb=verb,
        resource=resource,
        namespace=namespace,
        name=name,
        server=conn.server,
        timeout=conn.timeout,
        _preload_content=False,
        **kwargs,
    )
    data = response.data
    return json.loads(data) if data else {}


def labels(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def annotations(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def resource_version(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))
