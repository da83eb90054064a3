"""Watch streams: `?watch=true` answered with one JSON event per line, as the real server streams them.

Reads `Store.subscribe`. Without a resourceVersion (or
with "0") the stream starts with ADDED events for every current object; with one, it replays the
store's event log after it (410 Gone in an ERROR event when the log no longer reaches back). Events
are filtered by label and field selector on the new object (a real server also sends DELETED when an
object stops matching; this one does not). Table output (kubectl get -w) sends one-row Tables. The
stream ends after `timeoutSeconds`, when the client leaves, or when the server stops.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from cilium_lab.sim.api import table_columns
from cilium_lab.sim.api.access import STOPPING, backend_of
from cilium_lab.sim.state import k8s_errors, selectors
from cilium_lab.sim.state.resources import Resource

DEFAULT_TIMEOUT = 1800.0


def _matcher(request: web.Request, namespace: str | None):
    by_labels = selectors.parse_labels(request.query.get("labelSelector"))
    by_fields = selectors.parse_fields(request.query.get("fieldSelector"))

    def matches(obj: dict[str, Any]) -> bool:
        meta = obj["metadata"]
        in_namespace = namespace is None or meta.get("namespace", "") == namespace
        return in_namespace and by_labels(meta.get("labels") or {}) and by_fields(obj)

    return matches


async def serve(request: web.Request, res: Resource, namespace: str | None) -> web.StreamResponse:
    b = backend_of(request)
    matches = _matcher(request, namespace)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def listener(event: dict[str, Any]) -> None:
        if event["key"][0] == res.key:
            loop.call_soon_threadsafe(queue.put_nowait, event)

    rv = request.query.get("resourceVersion", "")
    with b.store.lock:
        if rv in ("", "0"):
            initial = [{"type": "ADDED", "object": o} for o in b.store.list(res.key, namespace)]
            backlog, unsubscribe = b.store.subscribe(listener)
        else:
            initial = []
            try:
                backlog, unsubscribe = b.store.subscribe(listener, since=int(rv))
            except k8s_errors.ApiError as err:
                return await _expired(request, err)
            backlog = [e for e in backlog if e["key"][0] == res.key]
    response = web.StreamResponse(
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    )
    await response.prepare(request)
    as_table = table_columns.wants_table(request.headers.get("Accept", ""))
    writer = _Writer(response, res, as_table, request.query.get("includeObject", "Metadata"))
    try:
        for event in initial + backlog:
            if matches(event["object"]):
                await writer.send(event)
        await _follow(request, queue, matches, writer)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        unsubscribe()
    return response


async def _follow(request: web.Request, queue: asyncio.Queue, matches, writer: _Writer) -> None:
    timeout = float(request.query.get("timeoutSeconds") or DEFAULT_TIMEOUT)
    deadline = asyncio.get_running_loop().time() + timeout
    stopping: asyncio.Event = request.app[STOPPING]
    while not stopping.is_set():
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return
        try:
            event = await asyncio.wait_for(queue.get(), timeout=min(left, 0.5))
        except TimeoutError:
            continue
        if matches(event["object"]):
            await writer.send(event)


class _Writer:
    def __init__(self, response: web.StreamResponse, res: Resource, as_table: bool, include: str) -> None:
        self.response, self.res, self.as_table, self.include = response, res, as_table, include
        self.first = True

    async def send(self, event: dict[str, Any]) -> None:
        obj = {**event["object"], "apiVersion": self.res.group_version, "kind": self.res.kind}
        if self.as_table:
            obj = table_columns.table(
                self.res.key, [obj], obj["metadata"]["resourceVersion"], self.include, headers=self.first
            )
        self.first = False
        line = json.dumps({"type": event["type"], "object": obj}) + "\n"
        await self.response.write(line.encode())


async def _expired(request: web.Request, err: k8s_errors.ApiError) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    await response.write((json.dumps({"type": "ERROR", "object": err.status()}) + "\n").encode())
    return response
