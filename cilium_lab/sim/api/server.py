"""The HTTP surface of the embedded cluster: an aiohttp app with the Kubernetes API's URL layout.

Built around a `Backend`. Routes discovery to `discovery`, resource paths (/api/v1/...,
/apis/<group>/<version>/...) to the thin handlers in `object_handlers` and `exec_ws`, the
create-only authorization.k8s.io reviews to `reviews`, and the admin endpoints (/_sim/faults,
/_sim/clock; admin token) to the backend.
A middleware authenticates every request and turns `ApiError` into the Status body a real server
sends. The app runs the controller loop (`control.controllers`) and the state saver as background tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from cilium_lab.errors import InputError
from cilium_lab.sim.api import discovery, exec_ws, object_handlers, openapi, reviews
from cilium_lab.sim.api.access import BACKEND, STOPPING, backend_of, identity_of
from cilium_lab.sim.api.object_handlers import Target, respond
from cilium_lab.sim.control.backend import Backend
from cilium_lab.sim.control.controllers import Controllers
from cilium_lab.sim.state import k8s_errors
from cilium_lab.sim.state.rbac import MASTERS

log = logging.getLogger(__name__)
Handler = Callable[[web.Request, Target], Awaitable[web.StreamResponse]]
ON_TICK = web.AppKey("on_tick", Callable[[], None])
LOOP_TASK = web.AppKey("loop_task", asyncio.Task)
NOT_FOUND = k8s_errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})


@web.middleware
async def errors_middleware(request: web.Request, handler):
    try:
        identity_of(request)
        return await handler(request)
    except k8s_errors.ApiError as err:
        return respond(err.status(), err.code)
    except InputError as err:
        return respond(k8s_errors.bad_request(str(err)).status(), 400)


def parse_target(request: web.Request, group: str, version: str, tail: str) -> Target:
    registry = backend_of(request).registry
    parts = [p for p in tail.split("/") if p]
    namespace = None
    if len(parts) >= 3 and parts[0] == "namespaces" and parts[2] not in ("status", "finalize"):
        namespace, parts = parts[1], parts[2:]
    res = registry.find(group, version, parts[0]) if parts else None
    if res is None or len(parts) > 3 or (namespace is not None and not res.namespaced):
        raise NOT_FOUND
    return Target(res, namespace, *parts[1:])


def _handler(t: Target, method: str) -> Handler:
    if t.res.group == reviews.GROUP:
        if t.name is not None:
            raise NOT_FOUND  # reviews have no item paths
        table: dict[str, Handler] = {"POST": reviews.create}
    elif t.name is None:
        table = {
            "GET": object_handlers.list_or_watch,
            "POST": object_handlers.create,
            "DELETE": object_handlers.delete_collection,
        }
    elif t.sub is None:
        table = {
            "GET": object_handlers.get,
            "PUT": object_handlers.replace,
            "PATCH": object_handlers.patch,
            "DELETE": object_handlers.delete,
        }
    elif t.sub == "status" and t.res.status_subresource:
        table = {"GET": object_handlers.get, "PUT": object_handlers.replace, "PATCH": object_handlers.patch}
    elif t.res.plural == "pods" and t.sub == "log":
        table = {"GET": exec_ws.log}
    elif t.res.plural == "pods" and t.sub == "exec":
        table = {"GET": exec_ws.exec_, "POST": exec_ws.exec_}
    else:
        raise NOT_FOUND
    if method not in table:
        raise k8s_errors.method_not_allowed()
    return table[method]


async def core_resource(request: web.Request) -> web.StreamResponse:
    t = parse_target(request, "", "v1", request.match_info["tail"])
    return await _handler(t, request.method)(request, t)


async def group_resource(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    t = parse_target(request, info["group"], info["version"], info["tail"])
    return await _handler(t, request.method)(request, t)


async def version(request: web.Request) -> web.Response:
    return respond(discovery.version(backend_of(request).profile.kubernetes_version))


async def api(request: web.Request) -> web.Response:
    return respond(discovery.api_versions(request.host))


async def api_v1(request: web.Request) -> web.Response:
    return respond(discovery.resource_list(backend_of(request).registry, "", "v1"))


async def apis(request: web.Request) -> web.Response:
    return respond(discovery.group_list(backend_of(request).registry))


async def api_group(request: web.Request) -> web.Response:
    return respond(
        discovery.group(backend_of(request).registry, request.match_info["group"]) or _raise(NOT_FOUND)
    )


async def api_group_version(request: web.Request) -> web.Response:
    info = request.match_info
    found = discovery.resource_list(backend_of(request).registry, info["group"], info["version"])
    return respond(found or _raise(NOT_FOUND))


def _raise(err: k8s_errors.ApiError):
    raise err


async def openapi_root(request: web.Request) -> web.Response:
    return respond(openapi.root(backend_of(request).registry))


async def openapi_group_version(request: web.Request) -> web.Response:
    return respond(
        openapi.group_version(backend_of(request).registry, request.match_info["path"]) or _raise(NOT_FOUND)
    )


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def not_found(request: web.Request) -> web.Response:
    raise NOT_FOUND


def _admin(request: web.Request) -> Backend:
    who = identity_of(request)
    if MASTERS not in who.groups:
        raise k8s_errors.ApiError(
            403, "Forbidden", f'User "{who.user}" cannot use the embedded cluster admin endpoint'
        )
    return backend_of(request)


async def get_faults(request: web.Request) -> web.Response:
    return respond(_admin(request).faults.dump())


async def put_faults(request: web.Request) -> web.Response:
    b = _admin(request)
    b.faults.load(await request.json())
    return respond(b.faults.dump())


async def get_clock(request: web.Request) -> web.Response:
    return respond({"virtualSeconds": _admin(request).clock.now()})


# seconds the loop sleeps with nothing due (the state file's save debounce: `Saver.interval`)
IDLE_WAIT = 0.25


async def _control_loop(app: web.Application) -> None:
    """Tick when due; between ticks sleep until a store write or a fault wakes the loop, `Timing.tick`
    while a pod waits on the clock, else `IDLE_WAIT` (an idle cluster wakes 4 times a second, not 100)."""
    backend: Backend = app[BACKEND]
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def poke(*_: object) -> None:  # from whichever thread wrote to the store
        loop.call_soon_threadsafe(wake.set)

    controllers = Controllers(backend)
    controllers.wake = poke
    _, unsubscribe = backend.store.subscribe(poke)
    try:
        while not app[STOPPING].is_set():
            wake.clear()
            try:
                if controllers.due():
                    controllers.tick()
                app[ON_TICK]()
            except Exception:  # keep serving; the failure is an emulator bug worth a traceback in the log
                log.exception("embedded cluster controller tick failed")
            timeout = backend.timing.tick if controllers.due() else IDLE_WAIT
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)
    finally:
        unsubscribe()


async def _start_background(app: web.Application) -> None:
    app[STOPPING] = asyncio.Event()
    app[LOOP_TASK] = asyncio.create_task(_control_loop(app))


async def _stop_background(app: web.Application) -> None:
    app[STOPPING].set()
    app[LOOP_TASK].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await app[LOOP_TASK]  # done before the event loop closes (it may be inside wait_for)


def build_app(backend: Backend, on_tick: Callable[[], None] = lambda: None) -> web.Application:
    app = web.Application(
        middlewares=[web.normalize_path_middleware(append_slash=False, remove_slash=True), errors_middleware],
        client_max_size=16 * 1024 * 1024,
    )
    app[BACKEND] = backend
    app[ON_TICK] = on_tick
    app.on_startup.append(_start_background)
    app.on_shutdown.append(_stop_background)
    r = app.router
    discovery_routes = (
        ("/version", version),
        ("/api", api),
        ("/api/v1", api_v1),
        ("/apis", apis),
        ("/apis/{group}", api_group),
        ("/apis/{group}/{version}", api_group_version),
    )
    for path, handler in discovery_routes:
        r.add_get(path, handler)
        r.add_get(path + "/", handler)  # clients ask for both spellings
    for path in ("/healthz", "/livez", "/readyz"):
        r.add_get(path, health)
    r.add_route("*", "/api/v1/{tail:.+}", core_resource)
    r.add_route("*", "/apis/{group}/{version}/{tail:.+}", group_resource)
    r.add_get("/openapi/v3", openapi_root)
    r.add_get("/openapi/v3/{path:.+}", openapi_group_version)
    r.add_get("/_sim/faults", get_faults)
    r.add_put("/_sim/faults", put_faults)
    r.add_get("/_sim/clock", get_clock)
    r.add_route("*", "/{tail:.*}", not_found)
    return app
