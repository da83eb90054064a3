"""Errors of the embedded cluster's API, shaped exactly like a real kube-apiserver's `Status` objects.

Raised by the store, the admission checks and the handlers; the server's error middleware turns an `ApiError`
into the JSON body and HTTP code a real API server sends, so the official client raises `ApiException` with
the same `status`, `reason` and body, and kubectl prints the same `Error from server (NotFound): ...` line.
Message formats follow k8s.io/apimachinery/pkg/api/errors (NewNotFound, NewAlreadyExists, NewConflict,
NewInvalid, NewForbidden, NewInternalError).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ApiError(Exception):
    """One failed API call: HTTP code, reason and the Status body a real server would send."""

    code: int
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(resource: str, group: str, name: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = resource
    return details


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    return ApiError(
        404, "NotFound", f'{_qualified(resource, group)} "{name}" not found', _details(resource, group, name)
    )


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{_qualified(resource, group)} "{name}" already exists',
        _details(resource, group, name),
    )


def conflict(resource: str, name: str, group: str = "") -> ApiError:
    message = (
        f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return ApiError(409, "Conflict", message, _details(resource, group, name))


def precondition_failed(resource: str, name: str, group: str, key: str, detail: str) -> ApiError:
    """A delete whose DeleteOptions.preconditions (uid, resourceVersion) no longer hold: the registry turns
    storage's InvalidObjError into a Conflict (apiserver/pkg/storage/interfaces.go Preconditions.Check)."""
    message = (
        f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": StorageError: invalid object,'
        f" Code: 4, Key: {key}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: {detail}"
    )
    return ApiError(409, "Conflict", message, _details(resource, group, name))


def invalid(kind: str, name: str, causes: list[tuple[str, str, str]], group: str = "") -> ApiError:
    """`causes` are (field, cause reason, message) triples, e.g. ("metadata.name", "FieldValueRequired", ...)."""
    summary = ", ".join(f"{f}: {m}" for f, _, m in causes)
    if len(causes) > 1:
        summary = f"[{summary}]"
    details = {"name": name, "group": group, "kind": kind} if group else {"name": name, "kind": kind}
    details["causes"] = [{"reason": r, "message": m, "field": f} for f, r, m in causes]
    return ApiError(
        422,
        "Invalid",
        f'{kind}.{group} "{name}" is invalid: {summary}'
        if group
        else f'{kind} "{name}" is invalid: {summary}',
        details,
    )


def forbidden(
    user: str, verb: str, resource: str, group: str, namespace: str | None, name: str | None
) -> ApiError:
    """`resource` may carry a subresource ("pods/exec"); the subject names only the resource, as RBAC does."""
    base = resource.split("/")[0]
    subject = f'{_qualified(base, group)} "{name}"' if name else _qualified(base, group)
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "{group}" {scope}'
    return ApiError(403, "Forbidden", message, _details(base, group, name))


def internal(message: str) -> ApiError:
    return ApiError(
        500, "InternalError", f"Internal error occurred: {message}", {"causes": [{"message": message}]}
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def method_not_allowed() -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def unsupported_media_type(custom: bool = False) -> ApiError:
    """415 for a PATCH; custom resources accept no strategic merge patch (but server-side apply, which
    this emulator does not serve). Worded as k8s.io/apiserver's negotiation.NewUnsupportedMediaTypeError,
    which does not name the type sent."""
    accepted = (
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        if custom
        else "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
    )
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {accepted}",
    )


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def timeout(message: str = "Timeout: request did not complete within the allotted timeout") -> ApiError:
    return ApiError(504, "Timeout", message)
