"""Reading the few request bodies kubectl sends as protobuf: the authorization reviews.

kubectl's typed clients POST built-in objects as
`application/vnd.kubernetes.protobuf` (every answer of this server is JSON, which they also accept),
so `kubectl auth can-i` sends its SelfSubjectAccessReview that way. The body is the Kubernetes
envelope, the magic `k8s\\0` then a runtime.Unknown {typeMeta, raw}
(https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding), and `raw` is the
object in the wire format (https://protobuf.dev/programming-guides/encoding/). Only the fields a
review's answer depends on are read, by their numbers in k8s.io/api/authorization/v1/generated.proto;
the rest (metadata, status, 1.31's field and label selectors) is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cilium_lab.sim.state import k8s_errors

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
Schema = dict[int, tuple[str, "Schema | None"]]  # field number -> (JSON name, message schema; None: string)

RESOURCE_ATTRIBUTES: Schema = {
    1: ("namespace", None),
    2: ("verb", None),
    3: ("group", None),
    4: ("version", None),
    5: ("resource", None),
    6: ("subresource", None),
    7: ("name", None),
}
NON_RESOURCE_ATTRIBUTES: Schema = {1: ("path", None), 2: ("verb", None)}
SCHEMAS: dict[str, Schema] = {
    "SelfSubjectAccessReview": {
        2: (
            "spec",
            {
                1: ("resourceAttributes", RESOURCE_ATTRIBUTES),
                2: ("nonResourceAttributes", NON_RESOURCE_ATTRIBUTES),
            },
        )
    },
    "SelfSubjectRulesReview": {2: ("spec", {1: ("namespace", None)})},
}
TYPE_META: Schema = {1: ("apiVersion", None), 2: ("kind", None)}


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return value, i


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) pairs: ints for varints, bytes for the rest."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        wire = key & 7
        value: int | bytes
        if wire == 0:
            value, i = _varint(data, i)
        elif wire in (1, 2, 5):
            size = {1: 8, 5: 4}.get(wire)
            if size is None:
                size, i = _varint(data, i)
            if i + size > len(data):
                raise ValueError("truncated field")
            value, i = data[i : i + size], i + size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield key >> 3, value


def _message(data: bytes, schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, value in _fields(data):
        if number in schema and isinstance(value, bytes):
            name, inner = schema[number]
            out[name] = value.decode() if inner is None else _message(value, inner)
    return out


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of an enveloped review; a 400 BadRequest, as a real server answers, otherwise."""
    try:
        if not body.startswith(MAGIC):
            raise ValueError("provided data does not appear to be a protobuf message, expected prefix 'k8s'")
        envelope = dict(_fields(body[len(MAGIC) :]))  # runtime.Unknown: 1 typeMeta, 2 raw
        type_meta, raw = envelope.get(1, b""), envelope.get(2, b"")
        if not isinstance(type_meta, bytes) or not isinstance(raw, bytes):
            raise ValueError("malformed envelope")
        meta = _message(type_meta, TYPE_META)
        schema = SCHEMAS.get(meta.get("kind", ""))
        if schema is None:
            raise ValueError(f"this server reads no protobuf {meta.get('kind')!r}: send JSON")
        return {**meta, **_message(raw, schema)}
    except (ValueError, UnicodeDecodeError) as err:
        raise k8s_errors.bad_request(f"error decoding the protobuf request body: {err}") from err
