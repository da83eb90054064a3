"""Plans and apply reports as text (terminal, logs) and HTML (notebooks, exported walkthroughs).

Called by `Plan.to_text/to_html` and `ApplyReport.to_text/to_html`; calls only the standard library.
Every rendering of a change on the embedded cluster carries SIMULATED.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cilium_lab.change.apply import ApplyReport
    from cilium_lab.change.plan import Plan


def _value(value: str | None) -> str:
    return "(absent)" if value is None else value


def _tag(simulated: bool) -> str:
    return " [SIMULATED]" if simulated else ""


def _scope(plan: Plan) -> str:
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
        f"Plan: {plan.title} ({plan.item}) on Cilium {plan.cilium_version}, {_scope(plan)}{_tag(plan.simulated)}"
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


def _table(rows: list[tuple[str, str, str]], head: tuple[str, str, str]) -> str:
    cells = "".join(
        f"<tr><td>{escape(a)}</td><td>{escape(b)}</td><td>{escape(c)}</td></tr>" for a, b, c in rows
    )
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{cells}</tbody></table>"


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
        f"{_table(diff, (where, 'now', 'planned'))}"
        f"{_table(nodes, ('node', 'expected', 'why'))}<ul>{extra}</ul></div>"
    )


def report_lines(report: ApplyReport) -> list[str]:
    lines = [f"Apply {report.item}: {report.outcome}{_tag(report.simulated)} - {report.message}"]
    lines.extend(f"  {o.node}: {o.outcome} - {o.reason}" for o in report.nodes.values())
    lines.extend(f"  warning: {w}" for w in report.warnings)
    if report.backup_path:
        lines.append(f"  backup: {report.backup_path} and configmap {report.backup_configmap}")
    return lines


def report_text(report: ApplyReport) -> str:
    return "\n".join(report_lines(report))


def report_html(report: ApplyReport) -> str:
    first, *_ = report_lines(report)
    nodes = [(o.node, o.outcome, o.reason) for o in report.nodes.values()]
    notes = "".join(f"<li>{escape(w)}</li>" for w in report.warnings)
    steps = "".join(f"<li>{escape(s)}</li>" for s in report.steps)
    return (
        f"<div class='cilium-lab-report'><h4>{escape(first)}</h4>{_table(nodes, ('node', 'outcome', 'why'))}"
        f"<ul>{notes}</ul><details><summary>steps</summary><ol>{steps}</ol></details></div>"
    )
