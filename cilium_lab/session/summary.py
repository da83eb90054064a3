"""Lab 00's scorecard and lab 99's checklist: every step of the series per node, as it runs now; and lab 99's
last step, how to undo the series.

Functions that show each view and return what goes into the lab's record; they call `scorecard`,
`ui.scorecard_figure` and `session.undo`, and read the result records the other labs wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from cilium_lab import scorecard as scoring
from cilium_lab import targets
from cilium_lab.cluster.snapshot import Snapshot
from cilium_lab.errors import LabError
from cilium_lab.params import LabParams
from cilium_lab.session import show, undo


def scorecard(snap: Snapshot) -> list[dict[str, object]]:
    """Every item's state per node, drawn and tabled; the scorecard's rows for the record."""
    from cilium_lab.ui import scorecard_figure

    card = scoring.build(snap)
    show.markdown(f"**Tuning scorecard, Cilium {card.cilium_version}** [{card.label}]")
    show.figure(scorecard_figure.figure(card))
    frame = card.frame()
    tuning = frame[~frame["item"].isin(VIEWS)]
    show.table(_matrix(tuning).reset_index())
    _blocked_reasons(tuning)
    return [dict(r) for r in card.records]


VIEWS = ("overview", "summary")


def _matrix(frame: pd.DataFrame) -> pd.DataFrame:
    matrix = frame.pivot(index="item", columns="node", values="state")
    return matrix.loc[list(dict.fromkeys(frame["item"])), list(dict.fromkeys(frame["node"]))]


def _blocked_reasons(frame: pd.DataFrame) -> None:
    """One line per blocked (item, reason), naming the nodes it holds for, instead of one per node."""
    lines: dict[tuple[str, str], list[str]] = {}
    for _, row in frame[frame["state"] == "blocked"].iterrows():
        for reason in row["reasons"][:1]:
            lines.setdefault((row["item"], reason), []).append(row["node"])
    if lines:
        show.markdown(
            "\n".join(
                f"- **{item}** blocked on {', '.join(nodes)}: {reason}"
                for (item, reason), nodes in lines.items()
            )
        )


def lab_records(results_dir: Path) -> list[dict[str, Any]]:
    """The result records of the labs run into this folder, in lab order."""
    records = []
    for path in sorted(Path(results_dir).glob("[0-9][0-9]-*.json")):
        try:
            records.append(json.loads(path.read_text()))
        except ValueError:
            continue  # a record being written by a concurrent run; it will be complete next time
    return records


def checklist(snap: Snapshot, results_dir: Path) -> dict[str, dict[str, object]]:
    """The series as it runs now, beside each lab's recorded decision; the matrix for the record."""
    card = scoring.build(snap)
    frame = card.frame()
    frame = frame[~frame["item"].isin(VIEWS)]
    matrix = _matrix(frame)
    decisions = {r["item"]: r.get("decision", "") for r in lab_records(results_dir)}
    matrix.insert(0, "lab decision", [decisions.get(item, "not run") for item in matrix.index])
    show.markdown(f"**The series' checklist, Cilium {card.cilium_version}** [{card.label}]: "
                  "`enabled` is read from the agents now; `blocked` carries its reason in the scorecard.")  # fmt: skip
    show.table(matrix.reset_index())
    _blocked_reasons(frame)
    return {str(item): dict(row) for item, row in matrix.iterrows()}


def how_to_undo(target: targets.Target, params: LabParams, results_dir: Path) -> dict[str, Any] | None:
    """The command that restores the cluster as it was before the changes this results folder records;
    what the record keeps of it (None when this cluster cannot tell)."""
    try:
        found = undo.find(target.connection, lab_records(results_dir), results_dir)
    except LabError as err:  # e.g. RBAC without the identity read: the summary still ends
        show.markdown(f"_How to undo the series: cannot tell on this cluster: {err}_")
        return None
    where = undo.target_args(params.cluster, params.kubeconfig)
    show.markdown(undo.markdown(found, where, simulated=target.simulated))
    return found.to_record(where)
