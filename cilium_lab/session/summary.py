"""Lab 00's scorecard and lab 99's checklist: every step of the series per node, as it runs now; and lab 99's
last step, how to undo the series.

Called by `LabSession` (and lab 99's notebook, for `how_to_undo`); calls `scorecard`,
`ui.scorecard_figure` and `session.undo`, and reads the result records the other labs wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from cilium_lab import scorecard as scoring
from cilium_lab.errors import LabError
from cilium_lab.session import show, undo


def scorecard(session: Any) -> Any:
    from cilium_lab.ui import scorecard_figure

    if session._skip_local("the scorecard"):
        return None
    card = scoring.build(session._need_snapshot())
    show.markdown(f"**Tuning scorecard, Cilium {card.cilium_version}** [{card.label}]")
    show.figure(scorecard_figure.figure(card))
    frame = card.frame()
    tuning = frame[~frame["item"].isin(VIEWS)]
    show.table(_matrix(tuning).reset_index())
    _blocked_reasons(tuning)
    session.record_extra["scorecard"] = [dict(r) for r in card.records]
    return card


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


def checklist(session: Any) -> pd.DataFrame | None:
    if session._skip_local("the checklist"):
        return None
    card = scoring.build(session.take_snapshot())
    frame = card.frame()
    frame = frame[~frame["item"].isin(VIEWS)]
    matrix = _matrix(frame)
    decisions = {r["item"]: r.get("decision", "") for r in lab_records(session.results_dir)}
    matrix.insert(0, "lab decision", [decisions.get(item, "not run") for item in matrix.index])
    show.markdown(f"**The series' checklist, Cilium {card.cilium_version}** [{card.label}]: "
                  "`enabled` is read from the agents now; `blocked` carries its reason in the scorecard.")  # fmt: skip
    show.table(matrix.reset_index())
    _blocked_reasons(frame)
    session.record_extra["checklist"] = {item: dict(row) for item, row in matrix.iterrows()}
    return matrix


def how_to_undo(session: Any) -> None:
    """The command that restores the cluster as it was before the changes this results folder records."""
    if session._skip_local("how to undo the series"):
        return
    try:
        found = undo.find(session.target.connection, lab_records(session.results_dir), session.results_dir)
    except LabError as err:  # e.g. RBAC without the identity read: the summary still ends
        show.markdown(f"_How to undo the series: cannot tell on this cluster: {err}_")
        return
    target = undo.target_args(session.params.cluster, session.params.kubeconfig)
    show.markdown(undo.markdown(found, target, simulated=session.target.simulated))
    session.record_extra["undo"] = found.to_record(target)
