"""Label and field selectors as the API server parses them from `?labelSelector=` and `?fieldSelector=`.

Used for list, watch and deletecollection, and for a DaemonSet's or a Service's selector and a
CiliumNodeConfig's nodeSelector. Label syntax: `a=b`, `a==b`, `a!=b`,
`a in (x,y)`, `a notin (x)`, `a`, `!a`. Field selectors: `=`, `==`, `!=` on dotted paths; the
server accepts any path (a real server accepts only a per-resource list, e.g. spec.nodeName and
status.phase for pods), and a missing field compares as "".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from cilium_lab.sim.state import k8s_errors

Predicate = Callable[[dict[str, str]], bool]
_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)([^\s!=(),]+)\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, current = [], 0, ""
    for ch in selector:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    terms.append(current)
    return [t for t in terms if t.strip()]


def _label_term(term: str) -> Predicate:
    if m := _SET_RE.match(term):
        key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _EQ_RE.match(term):
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _EXISTS_RE.match(term):
        negate, key = m.group(1) == "!", m.group(2)
        return lambda labels: (key in labels) != negate
    raise k8s_errors.bad_request(f"unable to parse requirement: invalid label selector term {term.strip()!r}")


def parse_labels(selector: str | None) -> Predicate:
    """A predicate over a labels dict; an empty selector matches everything."""
    terms = [_label_term(t) for t in _split_terms(selector or "")]
    return lambda labels: all(t(labels or {}) for t in terms)


def match_label_selector(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector ({matchLabels, matchExpressions}); an empty one selects everything."""
    selector = selector or {}
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_expression_matches(expr, labels) for expr in selector.get("matchExpressions") or [])


def _expression_matches(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, values = expr["key"], expr["operator"], set(expr.get("values") or [])
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    raise k8s_errors.bad_request(f"{op!r} is not a valid label selector operator")


def field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def parse_fields(selector: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate over a whole object for `metadata.name=x,spec.nodeName!=y`."""
    checks = []
    for term in _split_terms(selector or ""):
        m = _EQ_RE.match(term)
        if not m:
            raise k8s_errors.bad_request(
                f"invalid field selector: {term.strip()!r}: expected key=value or key!=value"
            )
        checks.append(m.groups())

    def matches(obj: dict[str, Any]) -> bool:
        for path, op, want in checks:
            equal = field_value(obj, path) == want
            if equal == (op == "!="):
                return False
        return True

    return matches


def exact_name(selector: str | None) -> str | None:
    """The name a field selector pins with `metadata.name=x` (or `==`), else None: kube-apiserver authorizes
    such a list or watch as a request for that one name (requestinfo.go, RequiresExactMatch)."""
    for term in _split_terms(selector or ""):
        m = _EQ_RE.match(term)
        if m and m.group(1) == "metadata.name" and m.group(2) != "!=" and m.group(3):
            return m.group(3)
    return None
