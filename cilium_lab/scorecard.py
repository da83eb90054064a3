"""The tuning scorecard: every catalogue item against every node (lab 00, `cilium-lab scorecard`).

Called by the overview lab, the CLI's `scorecard` verb and `ui.scorecard_figure`; calls
`catalog.evaluate` on a `cluster.snapshot.Snapshot`. One record per (item, node); as a pandas
DataFrame, a text table or JSON. A snapshot of the embedded cluster is marked SIMULATED.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cilium_lab import catalog
from cilium_lab.cluster.snapshot import Snapshot
from cilium_lab.errors import InputError
from cilium_lab.results.labels import LIVE, SIMULATED

COLUMNS = ("item", "number", "node", "state", "reasons", "needs")


@dataclass(frozen=True)
class Scorecard:
    records: tuple[dict, ...]
    simulated: bool
    cilium_version: str
    context: str

    @property
    def label(self) -> str:
        return SIMULATED if self.simulated else LIVE

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.records), columns=list(COLUMNS))

    def matrix(self) -> pd.DataFrame:
        """Items (rows, catalogue order) x nodes (columns) -> state."""
        frame = self.frame()
        table = frame.pivot(index="item", columns="node", values="state")
        order = list(dict.fromkeys(frame["item"]))
        return table.loc[order, list(dict.fromkeys(frame["node"]))]

    def to_text(self) -> str:
        head = f"Tuning scorecard - Cilium {self.cilium_version} - {self.context or 'cluster'} [{self.label}]"
        return f"{head}\n{self.matrix().to_string()}"

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "simulated": self.simulated,
            "cilium_version": self.cilium_version,
            "records": [dict(r) for r in self.records],
        }

    def __str__(self) -> str:
        return self.to_text()


def build(snapshot: Snapshot) -> Scorecard:
    if not isinstance(snapshot, Snapshot):
        raise InputError(
            f"scorecard needs a Snapshot from cluster.snapshot.take(), got {type(snapshot).__name__}"
        )
    records = []
    for item in catalog.ITEMS:
        for node in snapshot.nodes:
            r = catalog.evaluate(item, node, cilium_version=snapshot.cilium_version)
            records.append(
                {
                    "item": item.id,
                    "number": item.number,
                    "node": node.name,
                    "state": r.state,
                    "reasons": list(r.reasons),
                    "needs": list(r.needs),
                }
            )
    return Scorecard(tuple(records), snapshot.simulated, snapshot.cilium_version, snapshot.context)
