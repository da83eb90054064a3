"""A planned change (`Plan`): the record, and its text (terminal, logs) and HTML (notebooks, exported walkthroughs).

What to change where (cilium-config or a CiliumNodeConfig), the Helm and CLI equivalents, the restarts,
and each node's expected outcome. Every rendering of a plan on the embedded cluster carries SIMULATED.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from cilium_lab import catalog
from cilium_lab.change import outcomes
from cilium_lab.change.node_labels import canary_label, demo_label, takes_label
from cilium_lab.change.reports import table, tag


@dataclass(frozen=True)
class Plan:
    item: str
    title: str
    cilium_version: str
    namespace: str
    configmap: str
    targets: dict[str, object]
    changes: dict[str, str | None]  # cilium-config keys to set (None: delete)
    previous: dict[str, str | None]  # those keys' values now (None: absent)
    helm: dict[str, object]
    cli: tuple[str, ...]
    restart: tuple[str, ...]
    readiness: dict[str, catalog.Readiness]
    expected: dict[str, outcomes.NodeOutcome]
    config_resource_version: str  # cilium-config as planned; apply refuses if it changed since
    helm_managed: bool
    helm_release: str
    simulated: bool
    canary: tuple[str, ...] = ()  # the nodes the operator chose (nodes=...)
    node_config: dict | None = None  # the CiliumNodeConfig the change creates (canary or narrowed)
    not_ready: tuple[str, ...] = ()  # nodes in scope that were NotReady in the snapshot: apply refuses them
    notes: tuple[str, ...] = field(default=())
    scoped: tuple[str, ...] = ()  # the nodes a change narrowed to because others in scope cannot take it
    scope_note: str = ""  # why the change is scoped (or refused everywhere), in words; "" when it is not
    left_out: tuple[str, ...] = ()  # target settings left out: some node in scope cannot take them
    devices: dict[str, str] = field(default_factory=dict)  # node -> "enp1s0 (virtio_net)", for reasons
    # a demonstration: the item switched off on the selected nodes, verified as no longer in effect there
    switch_off: bool = False

    @property
    def nothing_to_do(self) -> bool:
        return not self.changes

    @property
    def refused(self) -> tuple[str, ...]:
        """The nodes the plan refuses (they cannot take the change): never touched."""
        return tuple(n for n, e in self.expected.items() if e.outcome == outcomes.REFUSED)

    @property
    def selected(self) -> tuple[str, ...]:
        """The nodes the CiliumNodeConfig selects (and whose agents restart); () for cilium-config."""
        if self.node_config is None:
            return ()
        return self.scoped or self.canary

    @property
    def nodes_in_scope(self) -> tuple[str, ...]:
        return self.selected or self.canary or tuple(self.expected)

    @property
    def node_label(self) -> str:
        """The label that puts a node under this change's CiliumNodeConfig."""
        if self.switch_off:
            return demo_label(self.item)
        return canary_label(self.item) if self.canary else takes_label(self.item)

    @property
    def canary_label(self) -> str:  # the earlier name of node_label
        return self.node_label

    @property
    def helm_command(self) -> str:
        sets = " ".join(f"--set {k}={_helm_text(v)}" for k, v in sorted(flatten(self.helm).items()))
        release = self.helm_release or "cilium"
        return f"helm upgrade {release} cilium/cilium --namespace {self.namespace} --reuse-values --version {self.cilium_version} {sets}".rstrip()

    def to_text(self) -> str:
        return plan_text(self)

    def to_html(self) -> str:
        return plan_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_text()


def flatten(values: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """Nested Helm values -> dotted keys, as `--set` takes them."""
    flat: dict[str, object] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _helm_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _value(value: str | None) -> str:
    return "(absent)" if value is None else value


def _scope(plan: Plan) -> str:
    if plan.switch_off:
        return f"switched off on {', '.join(plan.scoped)} for a demonstration"
    if plan.scoped:
        return f"only {', '.join(plan.scoped)} (the others cannot take it)"
    if plan.canary:
        return f"canary on {', '.join(plan.canary)}"
    return "whole cluster"


def _where(plan: Plan) -> str:
    """What the diff lines change: cilium-config, or the CiliumNodeConfig (whose values start from the
    selected nodes' effective config)."""
    if plan.node_config:
        return f"CiliumNodeConfig {plan.node_config['metadata']['name']}"
    return f"{plan.namespace}/{plan.configmap}"


def plan_lines(plan: Plan) -> list[str]:
    lines = [
        f"Plan: {plan.title} ({plan.item}) on Cilium {plan.cilium_version}, {_scope(plan)}{tag(plan.simulated)}"
    ]
    if plan.scope_note:
        lines.append(f"  {plan.scope_note}")
    if plan.nothing_to_do:
        lines.append("  nothing to change in cilium-config")
    for key, new in sorted(plan.changes.items()):
        lines.append(f"  {_where(plan)} {key}: {_value(plan.previous.get(key))} -> {_value(new)}")
    if plan.node_config:
        lines.append(
            f"  via CiliumNodeConfig {plan.node_config['metadata']['name']} ({plan.node_config['apiVersion']})"
            f" selecting {plan.node_label}=true on {', '.join(plan.selected)}"
        )
    if plan.helm and plan.scoped and not plan.canary:
        lines.append(
            "  Helm: none: Helm values are cluster-wide and the refused nodes cannot take them; the"
            " CiliumNodeConfig is outside Helm"
        )
    elif plan.helm:
        lines.append(f"  Helm: {plan.helm_command}")
    lines.extend(f"  cilium CLI: {command}" for command in plan.cli)
    if plan.restart:
        lines.append(f"  restarts: {', '.join(plan.restart)}")
    for node, expected in plan.expected.items():
        lines.append(f"  {node}: {expected.outcome} - {expected.reason}{_not_ready(plan, node)}")
    if plan.helm_managed and not plan.nothing_to_do and plan.scoped and not plan.canary:
        lines.append(
            "  note: Helm manages cilium-config, which stays unchanged; the CiliumNodeConfig is outside Helm"
        )
    elif plan.helm_managed and not plan.nothing_to_do and plan.canary:
        lines.append(
            "  note: Helm manages cilium-config; to promote the canary, change the Helm values (above)"
        )
    elif plan.helm_managed and not plan.nothing_to_do:
        lines.append(
            "  warning: Helm manages cilium-config; the next `helm upgrade` undoes this unless its values change too"
        )
    return lines


def _not_ready(plan: Plan, node: str) -> str:
    if node not in plan.not_ready:
        return ""
    return " (node NotReady: apply refuses unless allow_not_ready=True, which skips this node)"


def plan_text(plan: Plan) -> str:
    return "\n".join(plan_lines(plan))


def plan_html(plan: Plan) -> str:
    first, *rest = plan_lines(plan)
    diff = [(k, _value(plan.previous.get(k)), _value(v)) for k, v in sorted(plan.changes.items())]
    where = "CiliumNodeConfig key" if plan.node_config else "cilium-config key"
    nodes = [(n, e.outcome, e.reason + _not_ready(plan, n)) for n, e in plan.expected.items()]
    extra = "".join(
        f"<li>{escape(line.strip())}</li>" for line in rest if not line.startswith("  ") or ":" in line[:14]
    )
    return (
        f"<div class='cilium-lab-plan'><h4>{escape(first)}</h4>"
        f"{f'<p><b>Scope</b>: {escape(plan.scope_note)}</p>' if plan.scope_note else ''}"
        f"{table(diff, (where, 'now', 'planned'))}"
        f"{table(nodes, ('node', 'expected', 'why'))}<ul>{extra}</ul></div>"
    )
