"""What a change did, per node (`ApplyReport`): the record, and its text (terminal, logs) and HTML (notebooks).

A Cilium config change and lab 15's host tuning both report this way. Every rendering of a change on
the embedded cluster carries SIMULATED.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from cilium_lab.change import outcomes

NOT_APPROVED = "not applied: run with approve=True or click Apply"


@dataclass
class ApplyReport:
    item: str
    outcome: outcomes.Outcome  # a StrEnum: the record holds its string
    message: str
    nodes: dict[str, outcomes.NodeOutcome] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    backup_path: str = ""
    backup_configmap: str = ""
    simulated: bool = False
    exit_code: int = 0  # the README's exit codes: 0 done, 5 rolled back, 6 unfinished, 130/143 interrupted
    journal_path: str = ""  # the change's journal on disk ("" before one was opened)
    interrupted: str = ""  # "SIGINT" / "SIGTERM" when a signal cancelled the change
    after: Any = field(
        default=None, repr=False, compare=False
    )  # the Snapshot verification read, if it passed
    # CiliumNodeConfigs the change created: name -> the resourceVersion it left (a put-back deletes it only so)
    node_configs: dict[str, str] = field(default_factory=dict, compare=False)

    def to_record(self) -> dict:
        return {
            "item": self.item,
            "outcome": self.outcome,
            "message": self.message,
            "simulated": self.simulated,
            "nodes": [o.to_record() for o in self.nodes.values()],
            "steps": list(self.steps),
            "warnings": list(self.warnings),
            "backup_path": self.backup_path,
            "backup_configmap": self.backup_configmap,
            "exit_code": self.exit_code,
            "journal_path": self.journal_path,
            "interrupted": self.interrupted,
        }

    def to_text(self) -> str:
        return report_text(self)

    def to_html(self) -> str:
        return report_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_text()


def tag(simulated: bool) -> str:
    return " [SIMULATED]" if simulated else ""


def table(rows: list[tuple[str, str, str]], head: tuple[str, str, str]) -> str:
    """An HTML table of three columns, every cell escaped."""
    cells = "".join(
        f"<tr><td>{escape(a)}</td><td>{escape(b)}</td><td>{escape(c)}</td></tr>" for a, b, c in rows
    )
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{cells}</tbody></table>"


def report_lines(report: ApplyReport) -> list[str]:
    lines = [f"Apply {report.item}: {report.outcome}{tag(report.simulated)} - {report.message}"]
    lines.extend(f"  {o.node}: {o.outcome} - {o.reason}" for o in report.nodes.values())
    lines.extend(f"  warning: {w}" for w in report.warnings)
    if report.backup_path:
        lines.append(f"  backup: {report.backup_path} and configmap {report.backup_configmap}")
    if report.journal_path:
        lines.append(f"  journal: {report.journal_path}")
    return lines


def report_text(report: ApplyReport) -> str:
    return "\n".join(report_lines(report))


def report_html(report: ApplyReport) -> str:
    first, *_ = report_lines(report)
    nodes = [(o.node, o.outcome, o.reason) for o in report.nodes.values()]
    notes = "".join(f"<li>{escape(w)}</li>" for w in report.warnings)
    steps = "".join(f"<li>{escape(s)}</li>" for s in report.steps)
    return (
        f"<div class='cilium-lab-report'><h4>{escape(first)}</h4>{table(nodes, ('node', 'outcome', 'why'))}"
        f"<ul>{notes}</ul><details><summary>steps</summary><ol>{steps}</ol></details></div>"
    )
