"""Turn logical tuning changes into one Cilium version's cilium-config keys, Helm values and CLI lines.

Called by the change planner, the catalogue and the labs; calls `settings` (the data), `versions` and
`cilium_lab.errors`. `translate` validates everything before building anything, so a refused
change produces no partial plan. `read` is its inverse: logical values from a ConfigMap, with the
agent's defaults for absent keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cilium_lab.cilium import validation
from cilium_lab.cilium.settings import SETTINGS, Era, Setting
from cilium_lab.cilium.versions import CiliumVersion
from cilium_lab.errors import InputError, UnsupportedSetting


class ConflictingSettings(UnsupportedSetting):
    """The combination of settings is one the Cilium agent refuses at start-up."""


@dataclass(frozen=True)
class Conflict:
    settings: tuple[str, ...]
    broken: Callable[[Mapping[str, object]], bool]
    message: str


# Combinations the agent refuses (fatal at start-up); checked only when a change touches them.
CONFLICTS = (
    Conflict(
        ("auto_direct_node_routes", "routing"),
        lambda t: t.get("auto_direct_node_routes") is True and t.get("routing") == "tunnel",
        "auto_direct_node_routes needs routing=native (the agent refuses it with tunnelling, PR #15196)",
    ),
    Conflict(
        ("lb_mode", "dsr_dispatch", "tunnel_protocol"),
        lambda t: (
            t.get("lb_mode") in ("dsr", "hybrid")
            and t.get("dsr_dispatch") == "geneve"
            and t.get("tunnel_protocol") != "geneve"
        ),
        "DSR with dsr_dispatch=geneve requires tunnel_protocol=geneve (cilium/cilium#30845)",
    ),
    Conflict(
        ("lb_mode", "routing", "dsr_dispatch"),
        lambda t: (
            t.get("lb_mode") in ("dsr", "hybrid")
            and t.get("routing") == "tunnel"
            and t.get("dsr_dispatch") != "geneve"
        ),
        "DSR needs routing=native, or (1.14+) routing=tunnel with tunnel_protocol=geneve and dsr_dispatch=geneve"
        " (cilium/cilium#26339, PR #23890)",
    ),
)


@dataclass(frozen=True)
class ConfigChange:
    """What to change for one version: ConfigMap keys (None = delete), Helm values and CLI lines."""

    version: str
    settings: dict[str, object] = field(default_factory=dict, hash=False)  # the validated logical changes
    configmap: dict[str, str | None] = field(default_factory=dict, hash=False)
    helm: dict[str, object] = field(default_factory=dict, hash=False)  # dotted paths for --set
    cli: tuple[str, ...] = ()  # `cilium config set|delete` lines, run in this order

    def apply(self, configmap: Mapping[str, str]) -> dict[str, str]:
        """A copy of `configmap` with this change applied (the input is left as it is)."""
        result = dict(configmap)
        for key, value in self.configmap.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = value
        return result

    def helm_args(self) -> tuple[str, ...]:
        """Arguments for `helm upgrade cilium cilium/cilium --reuse-values ...`."""
        return tuple(f"--set {path}={_helm_text(value)}" for path, value in self.helm.items())

    def describe(self) -> str:
        """A short multi-line summary for a plan: ConfigMap diff, Helm values, CLI lines."""
        if not self.configmap and not self.helm:
            return f"Cilium {self.version}: nothing to change"
        lines = [f"Cilium {self.version}: cilium-config changes"]
        lines += [
            f"  {key}: {'(delete)' if value is None else value}" for key, value in self.configmap.items()
        ]
        lines += ["Helm (helm upgrade --reuse-values):", *(f"  {arg}" for arg in self.helm_args())]
        lines += [
            "or with cilium-cli (the last line restarts the agents):",
            *(f"  {line}" for line in self.cli),
        ]
        return "\n".join(lines)


def _helm_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _config_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _filled(version: CiliumVersion, logical: Mapping[str, object]) -> dict[str, object]:
    """Logical values with None replaced by the version's default, for templates and conflict checks."""
    filled = dict(logical)
    for name, value in logical.items():
        if value is None:
            filled[name] = SETTINGS[name].era(version).default
    return filled


def _encode(
    setting: Setting, era: Era, value: object, target: Mapping[str, object]
) -> tuple[str | None, object]:
    """(ConfigMap text or None for delete, Helm value) of one logical value in one era."""
    if era.delete_when is not None and value == era.delete_when:
        return None, value
    if not era.values:
        return _config_text(value), value
    text = era.values[value].format(**{name: target.get(name) for name in SETTINGS})
    return text, text


def _writes(
    version: CiliumVersion, name: str, value: object, target: Mapping[str, object], current: Mapping[str, str]
):
    """ConfigMap writes and Helm values for one setting; refuses a write the era cannot express."""
    setting = SETTINGS[name]
    era = setting.era(version)
    if era.only_if and target.get(era.only_if[0]) != era.only_if[1]:
        raise UnsupportedSetting(
            f"Cilium {version} keeps {name} in the `{era.key}` key, which only holds it when"
            f" {era.only_if[0]}={era.only_if[1]}; change both together, or use Cilium 1.14+"
        )
    text, helm_value = _encode(setting, era, value, target)
    writes: dict[str, str | None] = {era.key: text}
    writes.update({old: None for old in era.replaces if old in current})
    return writes, {era.helm: helm_value}


def _merge(into: dict[str, str | None], writes: Mapping[str, str | None], version: CiliumVersion) -> None:
    for key, value in writes.items():
        if key in into and into[key] != value and value is not None and into[key] is not None:
            raise ConflictingSettings(
                f"Cilium {version} stores these settings in the same key `{key}` with different values"
                f" ({into[key]!r} vs {value!r}); change them so they agree"
            )
        into[key] = value if into.get(key) is None else into[key]


def _preserve_replaced(
    version: CiliumVersion, configmap: dict[str, str | None], target: Mapping[str, object]
) -> None:
    """When an old key is deleted, write explicitly what another setting was still reading from it."""
    for setting in SETTINGS.values():
        if not validation.supported(setting, version):
            continue
        era = setting.era(version)
        older = setting.previous_era(era)
        value = target[setting.name]
        old_key_deleted = older is not None and configmap.get(older.key, "") is None
        # The default needs no key; an explicit key of this era is already being written.
        if era.honours_replaced and old_key_deleted and era.key not in configmap and value != era.default:
            configmap[era.key] = _encode(setting, era, value, target)[0]


def _cli(configmap: Mapping[str, str | None]) -> tuple[str, ...]:
    lines = [
        f"cilium config delete {k}" if v is None else f"cilium config set {k} {v}"
        for k, v in configmap.items()
    ]
    # Each line restarts the agents by default (reference B.4); restart once, at the end.
    return tuple(line + " --restart=false" for line in lines[:-1]) + tuple(lines[-1:])


def translate(
    version: str | CiliumVersion, changes: Mapping[str, object], current: Mapping[str, str] | None = None
) -> ConfigChange:
    """The keys, Helm values and CLI lines that make `changes` on a cluster running `version`."""
    parsed = validation.check_version(version)
    if not isinstance(changes, Mapping):
        raise InputError(f"changes must be a mapping of setting name to value, got {type(changes).__name__}")
    current = dict(current or {})
    valid = {name: validation.check_value(parsed, name, value) for name, value in changes.items()}
    target = _filled(parsed, {**read(parsed, current), **valid})
    for conflict in CONFLICTS:
        if set(conflict.settings) & valid.keys() and conflict.broken(target):
            raise ConflictingSettings(f"Cilium {parsed}: {conflict.message}")
    configmap: dict[str, str | None] = {}
    helm: dict[str, object] = {}
    for name in (name for name in SETTINGS if name in valid):
        writes, helm_values = _writes(parsed, name, valid[name], target, current)
        _merge(configmap, writes, parsed)
        helm.update(helm_values)
    _preserve_replaced(parsed, configmap, target)
    configmap = {
        k: v for k, v in configmap.items() if not (v is None and k not in current) and current.get(k) != v
    }
    return ConfigChange(str(parsed), valid, configmap, helm, _cli(configmap))


def _decode(setting: Setting, era: Era, text: str) -> object:
    text = text.strip()
    if era.values or era.reads:
        spellings = {spelling.lower(): value for value, spelling in era.values.items() if "{" not in spelling}
        spellings.update(era.reads)
        if text.lower() in spellings:
            return spellings[text.lower()]
        templated = [value for value, spelling in era.values.items() if "{" in spelling]
        return templated[0] if templated else None
    return validation.parse_plain(setting, text)


def read(version: str | CiliumVersion, configmap: Mapping[str, str]) -> dict[str, object]:
    """Logical values of every setting `version` supports; absent keys give the agent's default."""
    parsed = validation.check_version(version)
    values: dict[str, object] = {}
    for name, setting in SETTINGS.items():
        if not validation.supported(setting, parsed):
            continue
        era = setting.era(parsed)
        older = setting.previous_era(era)
        if era.key in configmap:
            values[name] = _decode(setting, era, configmap[era.key])
        elif era.honours_replaced and older and older.key in configmap:
            # e.g. 1.14 with `tunnel: disabled`: native routing, tunnel-protocol at its own default.
            decoded = _decode(setting, older, configmap[older.key])
            values[name] = era.default if decoded is None else decoded
        else:
            values[name] = era.default
    return values
