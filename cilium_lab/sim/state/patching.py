"""The three PATCH flavours of the Kubernetes API, applied to stored objects (plain dicts).

`merge_patch` is RFC 7386; `json_patch` is RFC 6902;
`strategic_merge_patch` follows the strategic-merge rules for the fields this cluster serves: lists
of containers, volumes, env, ports and conditions merge by their key, other lists are replaced, null
deletes a key, and the directives `$patch: delete|replace`, `$setElementOrder/...`,
`$deleteFromPrimitiveList/...` and `$retainKeys` are honoured (the last two simply). A bad patch is a
422, as on a real server.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from cilium_lab.sim.state import k8s_errors
from cilium_lab.sim.state.k8s_errors import ApiError

# list field -> the key its elements merge on (k8s.io/api types' patchMergeKey tags)
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "hostAliases": "ip",
    "ownerReferences": "uid",
}

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
CONTENT_TYPES = (STRATEGIC, MERGE, JSON_PATCH)


def invalid_patch(message: str) -> ApiError:
    return ApiError(422, "Invalid", message)


def apply(content_type: str, target: dict[str, Any], body: bytes, *, custom: bool = False) -> dict[str, Any]:
    """Apply a PATCH body of `content_type` to a copy of `target` and return the result. Custom resources
    take no strategic merge patch (k8s.io/apiserver endpoints/handlers/patch.go: CRDs have no patch
    strategy), so it is 415 there, listing what they accept."""
    kind = content_type.split(";")[0].strip()
    if kind not in CONTENT_TYPES or (custom and kind == STRATEGIC):
        raise k8s_errors.unsupported_media_type(custom=custom)
    try:
        patch = json.loads(body or b"null")
    except ValueError as err:
        raise k8s_errors.bad_request(f"error decoding patch: {err}") from err
    if kind == JSON_PATCH:
        return json_patch(target, patch)
    if not isinstance(patch, dict):
        raise invalid_patch("patch body must be a JSON object")
    if kind == MERGE:
        return merge_patch(target, patch)
    return strategic_merge_patch(target, patch)


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return _strip_directives(copy.deepcopy(patch))
    if patch.get("$patch") == "replace":
        return _strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    if patch.get("$patch") == "delete":
        return None
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            out[field] = [v for v in out.get(field, []) if v not in value]
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list) and key in MERGE_KEYS:
            out[key] = _merge_list(out.get(key) or [], value, _merge_key(key, value))
        elif isinstance(value, dict):
            merged = strategic_merge_patch(out.get(key) if isinstance(out.get(key), dict) else {}, value)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        else:
            out[key] = _strip_directives(copy.deepcopy(value))
    return out


def _merge_key(field: str, items: list[Any]) -> str:
    if field == "ports":
        return "containerPort" if any("containerPort" in i for i in items if isinstance(i, dict)) else "port"
    return MERGE_KEYS[field]


def _merge_list(current: list[Any], patch: list[Any], key: str) -> list[Any]:
    out = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise invalid_patch(f"strategic merge patch list item {item!r} has no merge key {key!r}")
        index = next(
            (i for i, cur in enumerate(out) if isinstance(cur, dict) and cur.get(key) == item[key]), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                out.pop(index)
        elif index is None:
            out.append(_strip_directives(copy.deepcopy(item)))
        else:
            out[index] = strategic_merge_patch(out[index], item)
    return out


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


# RFC 6902 --------------------------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise invalid_patch(f"JSON pointer {path!r} must start with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError) as err:
            raise invalid_patch(f"doc is missing path: {path!r}") from err
    return node


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, path)
    try:
        return parent[int(parts[-1])] if isinstance(parent, list) else parent[parts[-1]]
    except (KeyError, IndexError, ValueError, TypeError) as err:
        raise invalid_patch(f"doc is missing path: {path!r}") from err


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    value = _get(doc, path)
    parent = _parent(doc, parts, path)
    if isinstance(parent, list):
        parent.pop(int(parts[-1]))
    else:
        del parent[parts[-1]]
    return value


def _add(doc: Any, path: str, value: Any, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if index > len(parent) or (replace and index >= len(parent)):
            raise invalid_patch(f"index out of range in JSON pointer {path!r}")
        if replace:
            parent[index] = copy.deepcopy(value)
        else:
            parent.insert(index, copy.deepcopy(value))
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise invalid_patch(f"replace operation does not apply: doc is missing key: {path!r}")
        parent[last] = copy.deepcopy(value)
    else:
        raise invalid_patch(f"doc is missing path: {path!r}")
    return doc


def json_patch(target: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise invalid_patch("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        name, path = op.get("op"), op.get("path", "")
        if name == "add":
            doc = _add(doc, path, op.get("value"))
        elif name == "replace":
            doc = _add(doc, path, op.get("value"), replace=True)
        elif name == "remove":
            _remove(doc, path)
        elif name == "move":
            doc = _add(doc, path, _remove(doc, op["from"]))
        elif name == "copy":
            doc = _add(doc, path, _get(doc, op["from"]))
        elif name == "test":
            if _get(doc, path) != op.get("value"):
                raise invalid_patch(f"testing value {path} failed: test operation does not apply")
        else:
            raise invalid_patch(f"unexpected kind of JSON patch operation: {name!r}")
    return doc
