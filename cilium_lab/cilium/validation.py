"""Checks that a Cilium version exists for us and accepts a setting's value; plain value parsing.

Called by `cilium_lab.cilium.config` before it builds anything; calls `settings`, `versions` and
`cilium_lab.errors`. Every refusal is one line naming the version and what to do instead.
"""

from __future__ import annotations

import ipaddress
import math

from cilium_lab.cilium.settings import OLDEST, SETTINGS, Setting
from cilium_lab.cilium.versions import CiliumVersion
from cilium_lab.errors import InputError, UnsupportedSetting

_KIND_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def check_version(version: str | CiliumVersion) -> CiliumVersion:
    parsed = CiliumVersion.parse(version)
    if parsed < OLDEST:
        raise UnsupportedSetting(
            f"Cilium {parsed} is older than {OLDEST}, which cilium-lab does not cover; upgrade Cilium"
        )
    return parsed


def supported(setting: Setting, version: CiliumVersion) -> bool:
    """Whether `version` has the setting at all (pre-releases of X.Y.0 count as before X.Y)."""
    return version >= CiliumVersion.parse(setting.since)


def _typed(setting: Setting, value: object) -> object:
    kind = setting.kind
    ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok or (kind is float and not math.isfinite(value)):  # type: ignore[arg-type]
        raise InputError(f"{setting.name} must be {_KIND_NAMES[kind]}, got {value!r}")
    return value.strip().lower() if isinstance(value, str) and setting.choices else value


def _check_choice(setting: Setting, version: CiliumVersion, value: object) -> None:
    if value not in setting.choices:
        raise InputError(f"{setting.name} must be one of {', '.join(setting.choices)}; got {value!r}")
    since = setting.choice_since.get(str(value))
    if since and version < CiliumVersion.parse(since):
        allowed = [
            c for c in setting.choices if version >= CiliumVersion.parse(setting.choice_since.get(c, "0.0"))
        ]
        raise UnsupportedSetting(
            f"Cilium {version} does not accept {setting.name}={value} (added in {since});"
            f" use one of {', '.join(allowed)} or upgrade Cilium to {since}+"
        )


def _check_bounds(setting: Setting, value: object) -> None:
    if setting.bounds is None or value in setting.also_allowed:
        return
    low, high = setting.bounds
    inside = low < value <= high if setting.kind is float else low <= value <= high  # type: ignore[operator]
    if not inside:
        extra = f" (or {', '.join(map(str, setting.also_allowed))})" if setting.also_allowed else ""
        shape = f"in ({low}, {high}]" if setting.kind is float else f"between {low} and {high}"
        raise InputError(f"{setting.name} must be {shape}{extra}; got {value!r}")


def _check_cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise InputError(f"native_routing_cidr must be an IPv4 CIDR such as 10.0.0.0/8 ({err})") from None
    if "/" not in value:
        raise InputError(
            f"native_routing_cidr must include a prefix length, e.g. {network.network_address}/16"
        )
    return str(network)


def check_value(version: CiliumVersion, name: object, value: object) -> object:
    """The normalised value if `version` accepts `name=value`; otherwise raise a one-line error."""
    setting = SETTINGS.get(name) if isinstance(name, str) else None
    if setting is None:
        raise UnsupportedSetting(f"unknown setting {name!r}; known settings: {', '.join(SETTINGS)}")
    if not supported(setting, version):
        raise UnsupportedSetting(
            f"Cilium {version} has no {name} (added in {setting.since}); upgrade Cilium or leave {name} out"
        )
    value = _typed(setting, value)
    if setting.choices:
        _check_choice(setting, version, value)
    _check_bounds(setting, value)
    return _check_cidr(value) if name == "native_routing_cidr" else value  # type: ignore[arg-type]


def parse_plain(setting: Setting, text: str) -> object:
    """A ConfigMap string as the setting's type; None when it does not parse (never a guess)."""
    try:
        if setting.kind is bool:
            return {"true": True, "false": False}.get(text.lower())
        if setting.kind is int:
            return int(text)
        if setting.kind is float:
            return float(text)
    except ValueError:
        return None
    return text.lower() if setting.choices else text
