"""Turn what the kubernetes client raises into one-line `ClusterError`s that say what to do.

Every API call in `cilium_lab.cluster` goes through `call()`, which runs the client method with a
request timeout, retries a read once on a transient failure, and maps `ApiException` and urllib3
errors to the subclasses below (401 credentials, 403 RBAC with the role that grants it or Pod Security
admission with the label that decides, 404, 409, unreachable server). Callers above `cluster/` catch these classes and never see `kubernetes` types.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from cilium_lab.errors import ClusterError

T = TypeVar("T")

READ_VERBS = frozenset({"get", "list", "watch"})
# Which role of deploy/rbac.yaml grants a verb on a resource: the 403 message names it.
INSPECT_ROLE = "the read-only role cilium-lab-inspect"
OPERATOR_ROLE = "the operator role cilium-lab-operator"
BENCH_ROLE = "the benchmark role cilium-lab-bench"
STATUS_EXEC_ROLE = "the status role cilium-lab-status-exec (exec in the agent pods: root on the node)"
HOST_ROLE = "the host role cilium-lab-host"
_BENCH_NAMESPACE, _HOST_NAMESPACE = "cilium-lab-bench", "cilium-lab-host"  # workloads' and privileged's
_BENCH_RESOURCES = frozenset({"services"})
# kube-apiserver's PodSecurity admission plugin refuses with 403 too (pod-security-admission, admission.go)
POD_SECURITY, POD_SECURITY_LABEL = "violates PodSecurity", "pod-security.kubernetes.io/enforce"


class Unreachable(ClusterError):
    """The API server did not answer (refused, DNS, timeout, TLS)."""


class Unauthorized(ClusterError):
    """401: the credentials are expired or invalid."""


class Forbidden(ClusterError):
    """403: RBAC denies the verb on the resource."""


class NotFound(ClusterError):
    """404: the object does not exist."""


class AlreadyExists(ClusterError):
    """409 AlreadyExists on create."""


class Conflict(ClusterError):
    """409 Conflict: the resourceVersion we sent is stale."""


class ServerError(ClusterError):
    """5xx or another status the API server answered with."""


def role_for(verb: str, resource: str, namespace: str | None = None) -> str:
    if namespace == _HOST_NAMESPACE:
        return HOST_ROLE
    if namespace == _BENCH_NAMESPACE:
        return BENCH_ROLE
    if resource == "pods/exec":
        return STATUS_EXEC_ROLE
    if resource == "leases":  # the change lease: the operator role has all of it (the host role too)
        return OPERATOR_ROLE
    if verb in READ_VERBS:
        return INSPECT_ROLE
    if resource in _BENCH_RESOURCES or (resource == "pods" and verb in {"create", "delete"}):
        return BENCH_ROLE
    return OPERATOR_ROLE


def _where(namespace: str | None) -> str:
    return f" in {namespace}" if namespace else ""


def _server_message(err: ApiException) -> str:
    try:
        body = json.loads(err.body or "")
    except (TypeError, ValueError):
        return str(err.reason or "").strip()
    return str(body.get("message") or err.reason or "") if isinstance(body, dict) else str(err.reason)


def _reason(err: ApiException) -> str:
    try:
        body = json.loads(err.body or "")
    except (TypeError, ValueError):
        return ""
    return str(body.get("reason") or "") if isinstance(body, dict) else ""


def translate(
    err: BaseException,
    *,
    verb: str,
    resource: str,
    namespace: str | None = None,
    name: str | None = None,
    server: str = "",
) -> ClusterError:
    """The one-line ClusterError for a failed call `verb resource[/name] in namespace`."""
    what = f"{verb} {resource}{' ' + repr(name) if name else ''}{_where(namespace)}"
    if isinstance(err, ApiException):
        return _from_status(err, what, verb, resource, namespace, server)
    if isinstance(err, urllib3.exceptions.HTTPError | OSError | socket.timeout):
        detail = str(getattr(err, "reason", "") or err).splitlines()[0][:200]
        return Unreachable(
            f"cannot reach the API server at {server or '(unknown)'} to {what} ({type(err).__name__}: {detail});"
            " is the cluster running and the kubeconfig's server address right?"
        )
    return ClusterError(f"{what} failed: {type(err).__name__}: {err}")


def _from_status(
    err: ApiException, what: str, verb: str, resource: str, namespace: str | None, server: str
) -> ClusterError:
    status = int(err.status or 0)
    message = _server_message(err)
    if status == 0:  # the websocket handshake failed; the reason carries the HTTP status line
        handshake = str(err.reason or "")
        for code in (401, 403, 404):
            if f"status {code}" in handshake:
                return _from_status(
                    ApiException(status=code, reason=handshake), what, verb, resource, namespace, server
                )
        return Unreachable(
            f"cannot {what} at {server}: {handshake.splitlines()[0][:200] if handshake else 'no answer'}"
        )
    if status == 401:
        return Unauthorized(
            f"the API server at {server} rejected the credentials (401 Unauthorized) when trying to {what}:"
            " they are expired or invalid; refresh them (e.g. re-run your provider's get-credentials command)"
        )
    if status == 403 and POD_SECURITY in message:  # admission, not RBAC: no role would help
        return Forbidden(
            f"refused by Pod Security admission: cannot {verb} {resource}{_where(namespace)} ({message}); the"
            f" namespace's label {POD_SECURITY_LABEL} must admit it (deploy/rbac.yaml sets `privileged` on"
            f" {_BENCH_NAMESPACE} and {_HOST_NAMESPACE})"
        )
    if status == 403:
        return Forbidden(
            f"forbidden: cannot {verb} {resource}{_where(namespace)}; {role_for(verb, resource, namespace)} in"
            f" deploy/rbac.yaml grants it (server said: {message})"
        )
    if status == 404:
        return NotFound(f"not found: {what} ({message})")
    if status == 409:
        kind = AlreadyExists if _reason(err) == "AlreadyExists" or "already exists" in message else Conflict
        return kind(f"conflict: {what}: {message}")
    return ServerError(f"the API server answered {status} {err.reason or ''} to {what}: {message}".rstrip())


def _transient(err: BaseException) -> bool:
    if isinstance(err, ApiException):
        return int(err.status or 0) >= 500 or int(err.status or 0) == 429
    return isinstance(err, urllib3.exceptions.HTTPError | OSError)


def call(
    fn: Callable[..., T],
    *args: Any,
    verb: str,
    resource: str,
    namespace: str | None = None,
    name: str | None = None,
    server: str = "",
    timeout: float = 30.0,
    **kwargs: Any,
) -> T:
    """Run one client method; reads are retried once on a 5xx, 429 or connection failure."""
    kwargs.setdefault("_request_timeout", timeout)
    attempts = 2 if verb in READ_VERBS else 1
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as err:
            if attempt + 1 < attempts and _transient(err):
                continue
            raise translate(
                err, verb=verb, resource=resource, namespace=namespace, name=name, server=server
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover
