"""SelfSubjectAccessReview and SelfSubjectRulesReview (authorization.k8s.io/v1), what `kubectl auth can-i` asks.

Answers POST to either collection (other methods are 405 MethodNotAllowed, as on a real server,
whose REST storage for them only creates) for the caller's identity (`access.identity_of`) from
`state.rbac`: `rbac.allowed` decides an access review, and rbac's own matching names the binding that
granted it. Nothing is stored. Behaviour of a 1.26 API server
(https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access,
pkg/registry/authorization/selfsubject{access,rules}review/rest.go):

- members of system:masters are allowed anything with no reason (the privileged-group authorizer
  answers before RBAC); an RBAC grant reads `RBAC: allowed by ClusterRoleBinding "b" of ClusterRole
  "r" to User "u"` (RoleBinding "b/ns" for a namespaced one); a denial is `allowed: false`, no reason
  (RBAC only ever has no opinion, so `denied` is never set);
- every authenticated user holds the bootstrap roles system:basic-user (create both reviews),
  system:discovery and system:public-info-viewer (get on the discovery and health URLs), which the
  emulator grants implicitly: they are not stored objects, but reviews name them as a real cluster does;
- a rules review lists the rules of the bindings that apply in spec.namespace (ClusterRoleBindings
  too) and answers only `status` (an empty spec); a missing namespace is 400 "no namespace on request".
Simplifications: no `evaluationError`; API faults (`sim.control.faults`) do not apply to reviews.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from cilium_lab.sim.api import protobuf
from cilium_lab.sim.api.access import backend_of, identity_of
from cilium_lab.sim.api.object_handlers import Target, respond
from cilium_lab.sim.state import k8s_errors, rbac
from cilium_lab.sim.state.object_store import Store
from cilium_lab.sim.state.rbac import MASTERS, Attributes, Identity

GROUP = "authorization.k8s.io"
RBAC_GROUP = "rbac.authorization.k8s.io"
Obj = dict[str, Any]
# https://kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings, rules from
# plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go (1.26); each bound to system:authenticated
IMPLICIT: tuple[tuple[str, Obj], ...] = (
    (
        "system:basic-user",
        {
            "verbs": ["create"],
            "apiGroups": [GROUP],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        },
    ),
    (
        "system:discovery",
        {
            "verbs": ["get"],
            "nonResourceURLs": [
                "/livez",
                "/readyz",
                "/healthz",
                "/version",
                "/version/",
                "/openapi",
                "/openapi/*",
                "/api",
                "/api/*",
                "/apis",
                "/apis/*",
            ],
        },
    ),
    (
        "system:public-info-viewer",
        {"verbs": ["get"], "nonResourceURLs": ["/livez", "/readyz", "/healthz", "/version", "/version/"]},
    ),
)
# what the cluster-admin ClusterRole grants system:masters
ADMIN_RULES = (
    {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
    {"verbs": ["*"], "nonResourceURLs": ["*"]},
)


async def create(request: web.Request, t: Target) -> web.Response:
    who = identity_of(request)
    body = await _body(request)
    store = backend_of(request).store
    with store.lock:
        if t.res.plural == "selfsubjectaccessreviews":
            return respond(access_review(store, who, body), 201)
        return respond(rules_review(store, who, body), 201)


async def _body(request: web.Request) -> Obj:
    raw = await request.read()
    if request.content_type == protobuf.CONTENT_TYPE:  # kubectl's typed client sends reviews so
        return protobuf.decode(raw)
    try:
        body = json.loads(raw or b"null")
    except ValueError as err:
        raise k8s_errors.bad_request(f"error decoding the request body as JSON: {err}") from err
    if not isinstance(body, dict):
        raise k8s_errors.bad_request("the body of the request must be a JSON object")
    return body


# access reviews ------------------------------------------------------------------------------------
def access_review(store: Store, who: Identity, body: Obj) -> Obj:
    spec = body.get("spec") or {}
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    # pkg/apis/authorization/validation: exactly one of the two
    if resource is not None and non_resource is not None:
        _invalid(
            "spec.nonResourceAttributes",
            non_resource,
            "cannot be specified in combination with resourceAttributes",
        )
    if resource is None and non_resource is None:
        _invalid(
            "spec.resourceAttributes",
            None,
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
    if MASTERS in who.groups:
        status: Obj = {"allowed": True}
    elif resource is not None:
        status = _resource_decision(store, who, resource)
    else:
        status = _non_resource_decision(store, who, non_resource)
    return {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": f"{GROUP}/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }


def _invalid(field: str, value: Any, why: str) -> None:
    cause = (field, "FieldValueInvalid", f"Invalid value: {json.dumps(value)}: {why}")
    raise k8s_errors.invalid("SelfSubjectAccessReview", "", [cause], GROUP)


def _resource_decision(store: Store, who: Identity, attributes: Obj) -> Obj:
    sub = attributes.get("subresource") or ""
    attrs = Attributes(
        verb=attributes.get("verb") or "",
        group=attributes.get("group") or "",
        resource=f"{attributes.get('resource') or ''}/{sub}" if sub else attributes.get("resource") or "",
        namespace=attributes.get("namespace") or None,
        name=attributes.get("name") or None,
    )
    granted = rbac.allowed(store, who, attrs)
    for source, rule, implicit in _rules(store, who, attrs.namespace):
        # rbac's own matcher, so a reason names a stored binding only where `allowed` agrees
        if (granted or implicit) and rbac.rule_allows(rule, attrs):
            return {"allowed": True, "reason": f"RBAC: allowed by {source}"}
    return {"allowed": granted}


def _non_resource_decision(store: Store, who: Identity, attributes: Obj) -> Obj:
    verb, path = attributes.get("verb") or "", attributes.get("path") or ""
    for source, rule, _ in _rules(store, who, None):  # only ClusterRoleBindings grant URLs
        verbs = rule.get("verbs") or []
        if ("*" in verbs or verb in verbs) and any(
            _url_matches(u, path) for u in rule.get("nonResourceURLs") or []
        ):
            return {"allowed": True, "reason": f"RBAC: allowed by {source}"}
    return {"allowed": False}


def _url_matches(rule_url: str, path: str) -> bool:
    """RBAC's NonResourceURLMatches: exact, `*`, or a trailing `*` as a prefix match."""
    return rule_url in ("*", path) or (rule_url.endswith("*") and path.startswith(rule_url.rstrip("*")))


# rules reviews -------------------------------------------------------------------------------------
def rules_review(store: Store, who: Identity, body: Obj) -> Obj:
    namespace = (body.get("spec") or {}).get("namespace")
    if not namespace:
        raise k8s_errors.bad_request("no namespace on request")
    rules = [rule for _, rule, _ in _rules(store, who, namespace)]
    if MASTERS in who.groups:
        rules = [*ADMIN_RULES, *rules]
    return {
        "kind": "SelfSubjectRulesReview",
        "apiVersion": f"{GROUP}/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {},
        "status": {
            "resourceRules": [_resource_rule(r) for r in rules if r.get("resources")],
            "nonResourceRules": [
                {"verbs": r.get("verbs") or [], "nonResourceURLs": r["nonResourceURLs"]}
                for r in rules
                if r.get("nonResourceURLs")
            ],
            "incomplete": False,
        },
    }


def _resource_rule(rule: Obj) -> Obj:
    out: Obj = {"verbs": rule.get("verbs") or []}
    for key in ("apiGroups", "resources", "resourceNames"):  # omitempty in authorization/v1 ResourceRule
        if rule.get(key):
            out[key] = rule[key]
    return out


# bindings ------------------------------------------------------------------------------------------
def _rules(store: Store, who: Identity, namespace: str | None) -> Iterator[tuple[str, Obj, bool]]:
    """(binding as RBAC describes it, rule, implicit?) for every rule granted to `who` in `namespace`
    (None: cluster-wide only): stored ClusterRoleBindings, RoleBindings there, then the implicit roles."""
    bindings = [(b, "") for b in store.list(f"clusterrolebindings.{RBAC_GROUP}")]
    if namespace:
        bindings += [(b, namespace) for b in store.list(f"rolebindings.{RBAC_GROUP}", namespace)]
    for binding, ns in bindings:
        subject = next((s for s in binding.get("subjects") or [] if rbac.subject_matches(s, who)), None)
        if subject is None:
            continue
        ref = binding["roleRef"]
        name = f"{binding['metadata']['name']}/{ns}" if ns else binding["metadata"]["name"]
        source = f'{"RoleBinding" if ns else "ClusterRoleBinding"} "{name}" of {ref.get("kind")} "{ref.get("name")}" to {_subject(subject, ns)}'
        for rule in rbac.role_rules(store, ref, ns):
            yield source, rule, False
    if "system:authenticated" in who.groups:
        for role, rule in IMPLICIT:
            yield (
                f'ClusterRoleBinding "{role}" of ClusterRole "{role}" to Group "system:authenticated"',
                rule,
                True,
            )


def _subject(subject: Obj, namespace: str) -> str:
    """pkg/registry/rbac/validation/rule.go describeSubject."""
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{subject.get("name")}/{subject.get("namespace") or namespace}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'
