"""The API server's audit log: one entry per authorized resource request, allowed or not.

Written by the API layer's `access.authorize` after RBAC decides (an injected fault answering 403 counts as
denied); read by tests that derive which permissions a flow really uses. As a real audit log at level
Metadata, it names who asked for what, never the request's body. Simplification: kept in memory, the
newest `LIMIT` entries only, and not saved with the cluster state.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

LIMIT = 200_000


@dataclass(frozen=True)
class Entry:
    user: str
    verb: str
    group: str
    resource: str  # "pods"
    subresource: str  # "exec", or ""
    namespace: str  # "" for cluster-scoped requests
    name: str  # "" when the request names no object (create, list, deletecollection)
    allowed: bool


class AuditLog:
    def __init__(self) -> None:
        self._entries: deque[Entry] = deque(maxlen=LIMIT)
        self._lock = threading.Lock()

    def record(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, user: str | None = None) -> list[Entry]:
        """Every entry so far, oldest first; only `user`'s when given."""
        with self._lock:
            return [e for e in self._entries if user is None or e.user == user]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
