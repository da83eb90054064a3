"""Who is asking and whether they may: authentication, injected API faults, then RBAC.

Every resource handler asks here before it touches the store, and the server's middleware asks here
for authentication. A missing or unknown bearer token is 401; a
matching API fault answers with its delay and code before RBAC is asked; RBAC denial is a 403 with
the real server's message. Every decision goes into the backend's audit log (`state.audit`).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from cilium_lab.sim.control.backend import Backend
from cilium_lab.sim.state import audit, k8s_errors, rbac
from cilium_lab.sim.state.rbac import Attributes, Identity

BACKEND = web.AppKey("backend", Backend)
STOPPING = web.AppKey("stopping", asyncio.Event)  # set when the server shuts down (watches end)


def backend_of(request: web.Request) -> Backend:
    return request.app[BACKEND]


def identity_of(request: web.Request) -> Identity:
    b = backend_of(request)
    who = b.users.identify(request.headers.get("Authorization"))
    if who is None and "Authorization" not in request.headers:
        who = b.anonymous
    if who is None:
        raise k8s_errors.unauthorized()
    return who


async def authorize(request: web.Request, attrs: Attributes) -> Identity:
    """Raise the ApiError a real server would give; return the caller's identity when allowed."""
    b = backend_of(request)
    who = identity_of(request)
    delay, code = b.faults.take_api(attrs.verb, attrs.resource, who.user)
    if delay:
        await asyncio.sleep(delay)
    denied = code == 403 or (not code and not rbac.allowed(b.store, who, attrs))
    b.audit.record(_entry(who, attrs, allowed=not denied))
    if denied:
        raise k8s_errors.forbidden(
            who.user, attrs.verb, attrs.resource, attrs.group, attrs.namespace, attrs.name
        )
    if code:
        raise _injected(code, attrs)
    return who


def _entry(who: Identity, attrs: Attributes, *, allowed: bool) -> audit.Entry:
    resource, _, sub = attrs.resource.partition("/")
    return audit.Entry(
        who.user, attrs.verb, attrs.group, resource, sub, attrs.namespace or "", attrs.name or "", allowed
    )


def _injected(code: int, attrs: Attributes) -> k8s_errors.ApiError:
    what = f"{attrs.verb} {attrs.resource}"
    if code == 500:
        return k8s_errors.internal(f"injected fault: {what} fails")
    if code == 404:
        return k8s_errors.not_found(attrs.resource, attrs.name or "", attrs.group)
    if code == 409:
        return k8s_errors.conflict(attrs.resource, attrs.name or "", attrs.group)
    if code == 504:
        return k8s_errors.timeout()
    if code == 401:
        return k8s_errors.unauthorized()
    reasons = {400: "BadRequest", 422: "Invalid", 429: "TooManyRequests", 503: "ServiceUnavailable"}
    return k8s_errors.ApiError(
        code, reasons.get(code, "InternalError"), f"injected fault: {what} answers {code}"
    )
