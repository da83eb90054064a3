"""Authentication by bearer token and RBAC authorization, evaluated from the stored RBAC objects.

Asked for every resource request. Tokens map to users and groups
(the kubeconfig the cluster writes holds one context per user). Members of `system:masters` may do
anything, as on a real cluster; everyone else gets what their ClusterRoleBindings and RoleBindings
grant, rule by rule (verbs, apiGroups, resources incl. subresources like `pods/exec`,
resourceNames). A rule with resourceNames grants only requests that carry one of those names, as
kube-apiserver's: a `create` (POST to the collection) and a `deletecollection` carry none, so such a rule never
grants them (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources); a `list` or
`watch` carries one only through a `metadata.name=` field selector (the API layer passes it); a subresource
such as pods/exec carries its pod's name, whatever the verb. Simplifications: no ServiceAccount subjects, no aggregated ClusterRoles, no
nonResourceURLs rules (discovery is open to every authenticated user, as system:discovery allows).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from cilium_lab.sim.state.object_store import Store

MASTERS = "system:masters"


@dataclass(frozen=True)
class Identity:
    user: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attributes:
    """What a request asks for, in RBAC's terms."""

    verb: str
    group: str
    resource: str  # "pods" or "pods/exec"
    namespace: str | None
    name: str | None  # for list/watch: the name a `metadata.name=` field selector asks for, else None


@dataclass
class Users:
    """Bearer tokens of the cluster's users; persisted with the cluster state."""

    tokens: dict[str, Identity] = field(default_factory=dict)

    def add(self, user: str, groups: tuple[str, ...] = (), token: str | None = None) -> str:
        token = token or secrets.token_hex(16)
        self.tokens[token] = Identity(user, ("system:authenticated", *groups))
        return token

    def identify(self, authorization: str | None) -> Identity | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        return self.tokens.get(authorization.split(None, 1)[1].strip())

    def token_of(self, user: str) -> str:
        return next(t for t, ident in self.tokens.items() if ident.user == user)

    def dump(self) -> list[dict[str, Any]]:
        return [{"token": t, "user": i.user, "groups": list(i.groups)} for t, i in self.tokens.items()]

    @classmethod
    def load(cls, rows: list[dict[str, Any]]) -> Users:
        return cls({r["token"]: Identity(r["user"], tuple(r["groups"])) for r in rows})


def subject_matches(subject: dict[str, Any], who: Identity) -> bool:
    """Whether a binding's subject (User or Group) names `who`."""
    if subject.get("kind") == "User":
        return subject.get("name") == who.user
    if subject.get("kind") == "Group":
        return subject.get("name") in who.groups
    return False


def rule_allows(rule: dict[str, Any], attrs: Attributes) -> bool:
    """Whether one PolicyRule grants the request (verbs, apiGroups, resources incl. subresources, names)."""

    def has(values: list[str] | None, wanted: str) -> bool:
        return bool(values) and ("*" in values or wanted in values)

    base, _, sub = attrs.resource.partition("/")
    resources = rule.get("resources") or []
    resource_ok = (
        has(resources, attrs.resource)
        or (bool(sub) and f"{base}/*" in resources)
        or (bool(sub) and f"*/{sub}" in resources)
    )
    if not (has(rule.get("verbs"), attrs.verb) and has(rule.get("apiGroups"), attrs.group) and resource_ok):
        return False
    names = rule.get("resourceNames") or []
    if not names:
        return True
    return bool(attrs.name) and attrs.name in names  # no name (create, deletecollection, a plain list): no


def role_rules(store: Store, ref: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    """The rules of the Role or ClusterRole a binding's roleRef names ([] when it does not exist)."""
    if ref.get("kind") == "ClusterRole":
        role = store.find("clusterroles.rbac.authorization.k8s.io", "", ref["name"], copied=False)
    else:
        role = store.find("roles.rbac.authorization.k8s.io", namespace, ref["name"], copied=False)
    return (role or {}).get("rules") or []


def allowed(store: Store, who: Identity, attrs: Attributes) -> bool:
    """Whether the stored RBAC objects grant `who` the request `attrs`."""
    if MASTERS in who.groups:
        return True
    # the stored objects themselves (`view`, no copies): every request is authorised here, and it only reads
    bindings = [(b, "") for b in store.view("clusterrolebindings.rbac.authorization.k8s.io")]
    if attrs.namespace:
        bindings += [
            (b, attrs.namespace)
            for b in store.view("rolebindings.rbac.authorization.k8s.io", attrs.namespace)
        ]
    for binding, namespace in bindings:
        if not any(subject_matches(s, who) for s in binding.get("subjects") or []):
            continue
        if any(rule_allows(rule, attrs) for rule in role_rules(store, binding["roleRef"], namespace)):
            return True
    return False
