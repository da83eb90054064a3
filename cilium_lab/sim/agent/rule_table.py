"""The emulated agent's start-up rules as data: data/agent_rules.yaml, loaded, checked and evaluated.

Each row of the table is one decision the real cilium-agent makes while it starts: for which Cilium
versions it holds, the condition (in the small vocabulary below), the effect (stop the agent, fall
back with a log line, an info line only, or a silently ignored setting), the exact log text and
where in cilium/cilium it comes from. `apply(draft, stage)` fires the rows of one stage, in file
order, against the agent's `Draft`, at the point of start-up where the real agent makes the same
decision. A row marked `unsourced: true` (no Cilium source
found) fires with a visible marker on its log line or note.

Condition vocabulary (a mapping with exactly one key; nothing else is evaluated):
  all: [cond, ...] / any: [cond, ...] / not: cond
  flag: KEY                 the config key is "true" (absent: the table's config default)
  value_in / value_not_in: {KEY: [values]}   the key's value (lower-case; absent: default)
  set: KEY / unset: KEY     the key is present and non-empty / absent or empty
  number_below / number_above: {KEY: N}       the key parses as a number below / above N
  not_number: KEY           the key is present and does not parse as a number
  kernel_below: "a.b[.c]"   the node's upstream kernel is older
  state: {FIELD: value or [values]}   what the agent derived so far (STATE_FIELDS)
  nic: {FIELD: value}       a property of the node's NIC (NIC_FIELDS)
Log templates may use {cfg[KEY]}, {kernel}, {nic}, {driver}, {mode}, {dispatch}, {maps[NAME]}.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from cilium_lab.errors import InputError
from cilium_lab.package_files import load_yaml, shipped
from cilium_lab.sim.state.profiles import NodeProfile

RULES_FILE = shipped("data", "agent_rules.yaml")
Version = tuple[int, int, int]

STAGES = (
    "kernel",
    "init",
    "validate",
    "maps",
    "kpr",
    "lb",
    "host_routing",
    "masquerade",
    "big_tcp",
    "bandwidth",
    "xdp",
    "devices",
    "hubble",
)
EFFECTS = ("stop", "fallback", "info", "ignored")
LEVELS = ("info", "warning")
STATE_FIELDS = (
    "routing",
    "tunnel_protocol",
    "nodeport",
    "kpr",
    "masquerade",
    "host_routing",
    "lb_mode",
    "dsr_dispatch",
    "ipv4_big_tcp",
    "ipv6_big_tcp",
    "bandwidth_manager",
    "xdp",
    "device_mode",
)
NIC_FIELDS = ("xdp_native", "big_tcp", "mac", "driver", "name")
PREDICATES = (
    "all",
    "any",
    "not",
    "flag",
    "value_in",
    "value_not_in",
    "set",
    "unset",
    "number_below",
    "number_above",
    "not_number",
    "kernel_below",
    "state",
    "nic",
)
PLACEHOLDERS = ("cfg", "kernel", "nic", "driver", "mode", "dispatch", "maps")
ROW_KEYS = (
    "id",
    "stage",
    "versions",
    "when",
    "effect",
    "log",
    "level",
    "subsys",
    "via",
    "wrap",
    "fields",
    "set",
    "unsourced",
    "source",
    "confirmed",
    "note",
    "test",
)
UNSOURCED_FIELD = ("emulator", "unsourced")  # the visible marker on an unsourced row's log line


class Draft(Protocol):
    """What the rules read and write: `startup_rules.Draft`."""

    version: Version
    config: dict[str, str]
    node: NodeProfile
    kernel: Version
    fields: dict[str, Any]
    log: list[str]
    notes: list[str]
    fired: list[str]
    nodeport: bool


class Fatal(Exception):
    """The agent stops: `line` is its last log line (level fatal, in that version's logger shape)."""

    def __init__(self, message: str, line: str, rule: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.rule = rule


# --- versions -------------------------------------------------------------------------------------


def parse_range(text: str) -> tuple[tuple[str, Version], ...]:
    """'>=1.13,<1.15' -> ((">=", (1,13,0)), ("<", (1,15,0))); InputError on anything else."""
    parts = []
    for item in str(text).split(","):
        m = re.fullmatch(r"\s*(>=|<=|<|>|==)\s*(\d+)\.(\d+)(?:\.(\d+))?\s*", item)
        if not m:
            raise InputError(f"agent rules: bad version range {text!r}: write it like '>=1.13,<1.15'")
        parts.append((m[1], (int(m[2]), int(m[3]), int(m[4] or 0))))
    return tuple(parts)


def in_range(version: Version, spec: tuple[tuple[str, Version], ...]) -> bool:
    """Whether a version lies in a parsed range ('==' compares major.minor)."""
    for op, bound in spec:
        if (
            (op == ">=" and version < bound)
            or (op == ">" and version <= bound)
            or (op == "<" and version >= bound)
            or (op == "<=" and version > bound)
            or (op == "==" and version[:2] != bound[:2])
        ):
            return False
    return True


# --- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One row: a decision of the real agent, for a range of versions."""

    id: str
    stage: str
    versions: tuple[tuple[str, Version], ...]
    when: Mapping[str, Any]
    effect: str
    log: str
    level: str = "info"
    subsys: str = "daemon"
    via: str = "direct"  # stop rows: how the error reaches the last line (see `stop_paths`)
    wrap: str = ""  # stop rows: the prefixes the error collects on its way up
    fields: Mapping[str, str] = field(default_factory=dict)  # extra log fields (error=..., address=...)
    sets: Mapping[str, Any] = field(default_factory=dict)  # fallback rows: what the agent runs instead
    unsourced: bool = False
    source: str = ""
    confirmed: tuple[str, ...] = ()  # the versions actually seen in a source; the rest is assumed
    test: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Table:
    rules: tuple[Rule, ...]
    loggers: tuple[Mapping[str, Any], ...]
    stop_paths: Mapping[str, tuple[Mapping[str, Any], ...]]
    defaults: tuple[Mapping[str, Any], ...]
    map_sizing: Mapping[str, Any]

    def default(self, key: str, version: Version) -> str | None:
        for row in self.defaults:
            if row["key"] == key and in_range(version, parse_range(row.get("versions", ">=1.0"))):
                return str(row["value"])
        return None

    def logger(self, version: Version) -> Mapping[str, Any]:
        for row in self.loggers:
            if in_range(version, parse_range(row["versions"])):
                return row
        raise InputError(f"agent rules: no logger shape for Cilium {'.'.join(map(str, version))}")

    def stop_path(self, via: str, version: Version) -> Mapping[str, Any]:
        for row in self.stop_paths[via]:
            if in_range(version, parse_range(row["versions"])):
                return row
        raise InputError(f"agent rules: stop path {via!r} has no entry for {'.'.join(map(str, version))}")


@functools.cache
def load(path: Path = RULES_FILE) -> Table:
    """The checked table; InputError naming the row and the problem if the file is malformed."""
    try:
        raw = load_yaml(path)
    except (OSError, yaml.YAMLError) as err:
        raise InputError(f"cannot read the agent rules {path}: {err}") from err
    for section in ("loggers", "stop_paths", "config_defaults", "map_sizing", "rules"):
        if section not in (raw or {}):
            raise InputError(f"{path} lacks section {section!r}: restore it from git")
    stop_paths = {name: tuple(rows) for name, rows in raw["stop_paths"].items()}
    rules = tuple(_rule(row, stop_paths, path) for row in raw["rules"])
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: duplicate rule ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return Table(rules, tuple(raw["loggers"]), stop_paths, tuple(raw["config_defaults"]), raw["map_sizing"])


def _rule(row: Mapping[str, Any], stop_paths: Mapping[str, Any], path: Path) -> Rule:
    where = f"{path}: rule {row.get('id', '?')!r}"
    missing = [k for k in ("id", "stage", "versions", "when", "effect", "log") if k not in row]
    if missing:
        raise InputError(f"{where} lacks {', '.join(missing)}")
    unknown = sorted(set(row) - set(ROW_KEYS))
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; a row may have {ROW_KEYS}")
    if row["stage"] not in STAGES or row["effect"] not in EFFECTS:
        raise InputError(f"{where}: stage must be one of {STAGES}, effect one of {EFFECTS}")
    if not row.get("unsourced") and not row.get("source"):
        raise InputError(f"{where}: give its source (file, function, release/PR) or mark it unsourced: true")
    if row["effect"] == "stop" and row.get("via", "direct") not in stop_paths:
        raise InputError(f"{where}: via must be one of {sorted(stop_paths)}")
    if row["effect"] in ("fallback", "info") and row.get("level", "info") not in LEVELS:
        raise InputError(f"{where}: level must be one of {LEVELS}")
    _check_condition(row["when"], where)
    for text in (row["log"], row.get("wrap", ""), *dict(row.get("fields") or {}).values()):
        _check_template(str(text), where)
    for key in dict(row.get("set") or {}):
        if key not in STATE_FIELDS:
            raise InputError(f"{where}: set may only change {STATE_FIELDS}")
    return Rule(
        id=str(row["id"]),
        stage=row["stage"],
        versions=parse_range(row["versions"]),
        when=row["when"],
        effect=row["effect"],
        log=str(row["log"]),
        level=row.get("level", "info"),
        subsys=row.get("subsys", "daemon"),
        via=row.get("via", "direct"),
        wrap=str(row.get("wrap", "")),
        fields=dict(row.get("fields") or {}),
        sets=dict(row.get("set") or {}),
        unsourced=bool(row.get("unsourced", False)),
        source=str(row.get("source", "")),
        confirmed=tuple(str(c) for c in row.get("confirmed") or ()),
        test=row.get("test"),
    )


def _check_condition(cond: Any, where: str) -> None:
    if not isinstance(cond, Mapping) or len(cond) != 1:
        raise InputError(f"{where}: a condition is a mapping with one of {PREDICATES}, got {cond!r}")
    ((name, arg),) = cond.items()
    if name not in PREDICATES:
        raise InputError(f"{where}: unknown predicate {name!r}; the vocabulary is {PREDICATES}")
    if name in ("all", "any"):
        for sub in arg:
            _check_condition(sub, where)
    elif name == "not":
        _check_condition(arg, where)
    elif name == "state" and not set(arg) <= set(STATE_FIELDS):
        raise InputError(f"{where}: state knows only {STATE_FIELDS}")
    elif name == "nic" and not set(arg) <= set(NIC_FIELDS):
        raise InputError(f"{where}: nic knows only {NIC_FIELDS}")


def _check_template(text: str, where: str) -> None:
    for _, name, _, _ in string.Formatter().parse(text):
        if name is not None and name.split("[")[0] not in PLACEHOLDERS:
            raise InputError(f"{where}: placeholder {{{name}}} is not one of {PLACEHOLDERS}")


# --- evaluation -----------------------------------------------------------------------------------


def config_value(d: Draft, key: str) -> str:
    """The key as the agent reads it: stripped, lower-case, the table's default when absent."""
    value = (d.config.get(key) or "").strip()
    if not value:
        value = load().default(key, d.version) or ""
    return value.lower()


def flag(d: Draft, key: str) -> bool:
    return config_value(d, key) == "true"


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def _kernel(text: str) -> Version:
    major, minor, patch = [*(int(p) for p in str(text).split(".")), 0, 0][:3]
    return major, minor, patch


def holds(cond: Mapping[str, Any], d: Draft) -> bool:
    """Evaluate one condition of the vocabulary against the draft."""
    ((name, arg),) = cond.items()
    if name == "all":
        return all(holds(c, d) for c in arg)
    if name == "any":
        return any(holds(c, d) for c in arg)
    if name == "not":
        return not holds(arg, d)
    if name == "flag":
        return flag(d, arg)
    if name in ("value_in", "value_not_in"):
        inside = all(config_value(d, k) in [str(v).lower() for v in vs] for k, vs in arg.items())
        return inside if name == "value_in" else not inside
    if name == "set":
        return bool((d.config.get(arg) or "").strip())
    if name == "unset":
        return not (d.config.get(arg) or "").strip()
    if name in ("number_below", "number_above"):
        for key, bound in arg.items():
            value = _number(config_value(d, key))
            if value is None or (value >= bound if name == "number_below" else value <= bound):
                return False
        return True
    if name == "not_number":
        value = (d.config.get(arg) or "").strip()
        return bool(value) and _number(value) is None
    if name == "kernel_below":
        return d.kernel < _kernel(arg)
    if name == "state":
        state = {**d.fields, "nodeport": d.nodeport}
        return all(state.get(k) in (v if isinstance(v, list) else [v]) for k, v in arg.items())
    if name == "nic":
        return all(getattr(d.node.nic, k) == v for k, v in arg.items())
    raise InputError(f"unknown predicate {name!r}")  # load() rejects this; kept for direct callers


class _Config(dict):  # type: ignore[type-arg]
    """`{cfg[KEY]}` in a template: the value the agent read, with the table's defaults."""

    def __init__(self, d: Draft) -> None:
        super().__init__()
        self.draft = d

    def __missing__(self, key: str) -> str:
        raw = (self.draft.config.get(key) or "").strip()
        return raw or (load().default(key, self.draft.version) or "")


def render(template: str, d: Draft) -> str:
    kernel = ".".join(map(str, d.kernel))
    return template.format(
        cfg=_Config(d),
        kernel=kernel,
        nic=d.node.nic.name,
        driver=d.node.nic.driver,
        mode=str(d.fields.get("lb_mode") or config_value(d, "bpf-lb-mode")),
        dispatch=config_value(d, "bpf-lb-dsr-dispatch"),
        maps=d.fields.get("map_sizes") or {},
    )


def _needs_quoting(text: str, shape: str) -> bool:
    if not text:
        return shape == "slog"
    if shape == "slog":  # log/slog TextHandler: quote spaces, '=', '"' and non-printables
        return any(c.isspace() or c in '="' or not c.isprintable() for c in text)
    # logrus TextFormatter.needsQuoting: anything outside [A-Za-z0-9-._/@^+]
    return any(not (c.isalnum() or c in "-._/@^+") for c in text)


def _value(text: str, shape: str) -> str:
    if not _needs_quoting(text, shape):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def log_line(
    version: Version, level: str, msg: str, fields: Mapping[str, str] = (), subsys: str = "daemon"
) -> str:
    """One agent log line in the shape of that version's logger (see `loggers` in the table)."""
    shape = load().logger(version)["shape"]
    pairs = dict(fields)
    if shape == "logrus":  # logrus sorts the fields after time, level and msg; subsys is one of them
        pairs = dict(sorted({**pairs, "subsys": subsys}.items()))
    extra = "".join(f" {k}={_value(str(v), shape)}" for k, v in pairs.items())
    return f"level={level} msg={_value(msg, shape)}{extra}"


def _fields(rule: Rule, d: Draft) -> dict[str, str]:
    out = {k: render(v, d) for k, v in rule.fields.items()}
    if rule.unsourced:
        out[UNSOURCED_FIELD[0]] = UNSOURCED_FIELD[1]
    return out


def stop_line(rule: Rule, d: Draft) -> tuple[str, str]:
    """(the error text, the agent's last line) for a stop row."""
    text = render(rule.wrap, d) + render(rule.log, d)
    path = load().stop_path(rule.via, d.version)
    msg = str(path["msg"]).replace("{text}", text)
    fields = {"error": str(path["error"]).replace("{text}", text)} if "error" in path else {}
    fields |= _fields(rule, d)
    if path.get("unsourced") and not rule.unsourced:
        fields[UNSOURCED_FIELD[0]] = "unsourced-wrapping"
    subsys = rule.subsys if rule.via == "direct" else str(path.get("subsys", "daemon"))
    return text, log_line(d.version, "fatal", msg, fields, subsys)


def fire(rule: Rule, d: Draft) -> None:
    d.fired.append(rule.id)
    if rule.effect == "stop":
        text, line = stop_line(rule, d)
        raise Fatal(text, line, rule.id)
    message = render(rule.log, d)
    if rule.effect == "ignored":
        d.notes.append(f"(no agent log line{'; unsourced' if rule.unsourced else ''}) {message}")
    else:
        d.log.append(log_line(d.version, rule.level, message, _fields(rule, d), rule.subsys))
        d.notes.append(message)
    for key, value in rule.sets.items():
        if key == "nodeport":
            d.nodeport = bool(value)
        else:
            d.fields[key] = value


def apply(d: Draft, stage: str) -> None:
    """Fire the rows of `stage` that hold for this version and draft, in the table's order."""
    if stage not in STAGES:
        raise InputError(f"unknown agent-rule stage {stage!r}")
    for rule in load().rules:
        if rule.stage == stage and in_range(d.version, rule.versions) and holds(rule.when, d):
            fire(rule, d)
