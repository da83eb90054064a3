"""Which cluster a connection reaches: the kube-system Namespace's uid, and the API server's host for messages.

Called by `change.backups.backup` (every backup records it) and `change.backups.restoring` (a backup of another cluster is
refused); calls `cluster.objects`. The kube-system Namespace exists from a cluster's creation to its end
and its uid is never reused, so it is the usual cluster ID (Cilium's and other tools' cluster-id
conventions use it); the server URL alone is not, since one cluster has several names and one name may
serve a rebuilt cluster. Reading it needs `get` on namespaces/kube-system (deploy/rbac.yaml grants
exactly that name in the read-only role).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from cilium_lab.cluster import objects
from cilium_lab.cluster.connect import Connection

NAMESPACE = "kube-system"


@dataclass(frozen=True)
class ClusterIdentity:
    uid: str  # kube-system's metadata.uid
    server: str  # host[:port] of the API server URL it was read through (for messages only)

    def __str__(self) -> str:
        return f"{self.uid} (API server {self.server})" if self.server else self.uid


def server_host(url: str) -> str:
    """`https://user@api.example:6443/path` -> `api.example:6443`: no scheme, credentials or path."""
    parts = urlsplit(url if "://" in url else f"//{url}")
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if host and port else host


def read(conn: Connection) -> ClusterIdentity:
    """The identity of the cluster behind `conn`; `apierrors.Forbidden` names the role that grants the read."""
    ns = objects.request(
        conn, conn.core.read_namespace, NAMESPACE, verb="get", resource="namespaces", name=NAMESPACE
    )
    return ClusterIdentity(
        uid=str((ns.get("metadata") or {}).get("uid", "")), server=server_host(conn.server)
    )
