"""Thin HTTP handlers for every served resource: list, get, create, update, patch, delete, status.

Each handler takes a parsed `Target`, authorizes (`access`), then calls the store, admission and patching
(`state`), and answers JSON or a `Table` (`table_columns`). Watches go to `watch`. Rules live in those
modules, not here. Simplifications: `limit` and `continue` page by offset; `dryRun` is honoured by skipping
the write; server-side apply is 415.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cilium_lab.sim.api import table_columns, watch
from cilium_lab.sim.api.access import authorize, backend_of
from cilium_lab.sim.state import admission, k8s_errors, patching, selectors
from cilium_lab.sim.state.object_store import now_rfc3339
from cilium_lab.sim.state.rbac import Attributes
from cilium_lab.sim.state.resources import Resource

Obj = dict[str, Any]
# resources whose DELETE answers with the object, not a Status (their registries' ReturnDeletedObject, 1.32)
RETURN_DELETED = frozenset({"pods", "namespaces", "services"})


@dataclass(frozen=True)
class Target:
    res: Resource
    namespace: str | None
    name: str | None = None
    sub: str | None = None  # "status", "log", "exec"

    def attrs(self, verb: str, name: str | None = None) -> Attributes:
        resource = f"{self.res.plural}/{self.sub}" if self.sub else self.res.plural
        return Attributes(verb, self.res.group, resource, self.namespace, name or self.name)


def respond(obj: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(obj), content_type="application/json")


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw or b"null")
    except ValueError as err:
        raise k8s_errors.bad_request(f"error decoding the request body as JSON: {err}") from err


def _present(request: web.Request, t: Target, obj: Obj) -> web.Response:
    if table_columns.wants_table(request.headers.get("Accept", "")):
        include = request.query.get("includeObject", "Metadata")
        return respond(table_columns.table(t.res.key, [obj], obj["metadata"]["resourceVersion"], include))
    return respond(_versioned(t.res, obj))


def _versioned(res: Resource, obj: Obj) -> Obj:
    """Objects are stored once per resource; answer with the apiVersion the client asked for."""
    return {**obj, "apiVersion": res.group_version, "kind": res.kind}


async def list_or_watch(request: web.Request, t: Target) -> web.StreamResponse:
    named = selectors.exact_name(request.query.get("fieldSelector"))  # what resourceNames can grant
    if request.query.get("watch") in ("true", "1"):
        await authorize(request, t.attrs("watch", named))
        return await watch.serve(request, t.res, t.namespace)
    await authorize(request, t.attrs("list", named))
    b = backend_of(request)
    with b.store.lock:
        # the stored objects themselves (`view`): this handler only selects and serialises them, so a copy of
        # every object of the resource per list (before the selector dropped most) bought nothing
        items = _select(request, b.store.view(t.res.key, t.namespace))
        revision = str(b.store.revision)
    meta: Obj = {"resourceVersion": revision}
    items, meta = _page(request, items, meta)
    if table_columns.wants_table(request.headers.get("Accept", "")):
        return respond(
            table_columns.table(t.res.key, items, revision, request.query.get("includeObject", "Metadata"))
        )
    kind = f"{t.res.kind}List"
    return respond(
        {
            "kind": kind,
            "apiVersion": t.res.group_version,
            "metadata": meta,
            "items": [_versioned(t.res, o) for o in items],
        }
    )


def _select(request: web.Request, items: list[Obj]) -> list[Obj]:
    by_labels = selectors.parse_labels(request.query.get("labelSelector"))
    by_fields = selectors.parse_fields(request.query.get("fieldSelector"))
    return [o for o in items if by_labels(o["metadata"].get("labels") or {}) and by_fields(o)]


def _page(request: web.Request, items: list[Obj], meta: Obj) -> tuple[list[Obj], Obj]:
    limit = int(request.query.get("limit") or 0)
    start = 0
    if token := request.query.get("continue"):
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError as err:
            raise k8s_errors.bad_request(f"continue key is not valid: {err}") from err
    if limit <= 0:
        return items[start:], meta
    page = items[start : start + limit]
    if start + limit < len(items):
        meta["continue"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
        meta["remainingItemCount"] = len(items) - start - limit
    return page, meta


async def get(request: web.Request, t: Target) -> web.Response:
    await authorize(request, t.attrs("get"))
    obj = backend_of(request).store.get(t.res.key, t.namespace or "", t.name or "")
    return _present(request, t, obj)


async def create(request: web.Request, t: Target) -> web.Response:
    await authorize(request, t.attrs("create"))
    b = backend_of(request)
    body = await _body(request)
    with b.store.lock:
        obj = admission.prepare(b.store, t.res, t.namespace, body, b.profile.service_cidr)
        if request.query.get("dryRun"):
            if b.store.find(t.res.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]):
                raise k8s_errors.already_exists(t.res.plural, obj["metadata"]["name"], t.res.group)
            return respond(obj, 201)
        created = b.store.create(t.res.key, obj)
    return respond(_versioned(t.res, created), 201)


def _merge_status(t: Target, current: Obj, new: Obj) -> Obj:
    """A write to the main resource keeps the stored status; a write to /status changes only status."""
    if t.sub == "status":
        return {**current, "status": new.get("status", current.get("status"))}
    if t.res.status_subresource and "status" in current:
        new["status"] = current["status"]
    return new


def _write(request: web.Request, t: Target, current: Obj, new: Obj) -> web.Response:
    b = backend_of(request)
    meta = new.setdefault("metadata", {})
    if meta.get("name", t.name) != t.name:
        raise k8s_errors.bad_request(
            f"the name of the object ({meta.get('name')}) does not match the name on the URL ({t.name})"
        )
    meta["name"] = t.name
    if t.res.namespaced:
        meta["namespace"] = t.namespace
    new = _merge_status(t, current, new)
    new["apiVersion"], new["kind"] = t.res.group_version, t.res.kind
    admission.validate(t.res, new)
    if request.query.get("dryRun"):
        return respond(new)
    updated = b.store.update(t.res.key, new)
    return _present(request, t, updated)


async def replace(request: web.Request, t: Target) -> web.Response:
    await authorize(request, t.attrs("update"))
    body = await _body(request)
    if not isinstance(body, dict):
        raise k8s_errors.bad_request("the body of the request must be a JSON object")
    b = backend_of(request)
    with b.store.lock:
        current = b.store.get(t.res.key, t.namespace or "", t.name or "")
        return _write(request, t, current, body)


async def patch(request: web.Request, t: Target) -> web.Response:
    await authorize(request, t.attrs("patch"))
    raw = await request.read()
    b = backend_of(request)
    with b.store.lock:
        current = b.store.get(t.res.key, t.namespace or "", t.name or "")
        patched = patching.apply(request.headers.get("Content-Type", ""), current, raw, custom=t.res.custom)
        if not isinstance(patched, dict):
            raise patching.invalid_patch("the patch turned the object into something that is not an object")
        return _write(request, t, current, patched)


def _check_preconditions(t: Target, options: Any, current: Obj) -> None:
    """DeleteOptions.preconditions: the uid and resourceVersion the caller read must still be the stored ones."""
    wanted = (options or {}).get("preconditions") if isinstance(options, dict) else None
    if not isinstance(wanted, dict):
        return
    meta = current["metadata"]
    key = "/registry/" + "/".join(p for p in (t.res.plural, t.namespace, t.name) if p)
    for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
        if wanted.get(field) is not None and wanted[field] != meta.get(field):
            detail = f"{label} in precondition: {wanted[field]}, {label} in object meta: {meta.get(field)}"
            raise k8s_errors.precondition_failed(t.res.plural, t.name or "", t.res.group, key, detail)


async def delete(request: web.Request, t: Target) -> web.Response:
    await authorize(request, t.attrs("delete"))
    b = backend_of(request)
    options = await _body(request)
    with b.store.lock:
        current = b.store.get(t.res.key, t.namespace or "", t.name or "")
        _check_preconditions(t, options, current)
        if request.query.get("dryRun"):
            return respond(current)
        gone = b.store.delete(t.res.key, t.namespace or "", t.name or "")
        if t.res.key == "namespaces":
            _delete_namespace_contents(request, t.name or "")
    if t.res.key == "pods":  # deleted at once (no kubelet to wait for), as a grace period of 0 deletes
        meta = {**gone["metadata"], "deletionTimestamp": now_rfc3339(), "deletionGracePeriodSeconds": 0}
        return respond(_versioned(t.res, {**gone, "metadata": meta}))
    if t.res.key in RETURN_DELETED:
        return respond(_versioned(t.res, gone))
    details = {"name": t.name, "group": t.res.group, "kind": t.res.plural, "uid": gone["metadata"]["uid"]}
    return respond(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
    )


def _delete_namespace_contents(request: web.Request, namespace: str) -> None:
    b = backend_of(request)
    for res in b.registry.resources:
        if res.namespaced:
            for obj in b.store.list(res.key, namespace):
                b.store.delete(res.key, namespace, obj["metadata"]["name"])


async def delete_collection(request: web.Request, t: Target) -> web.Response:
    await authorize(request, t.attrs("deletecollection"))
    b = backend_of(request)
    with b.store.lock:
        doomed = _select(request, b.store.list(t.res.key, t.namespace))
        for obj in doomed:
            b.store.delete(t.res.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        revision = str(b.store.revision)
    kind = f"{t.res.kind}List"
    return respond(
        {
            "kind": kind,
            "apiVersion": t.res.group_version,
            "metadata": {"resourceVersion": revision},
            "items": doomed,
        }
    )
