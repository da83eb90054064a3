"""What happened to a change, per node and overall: named values, never booleans.

Used by `change.plan` (expected outcomes), `change.verify` and `change.apply` (what happened), the
confirmation widget and the labs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

APPLIED = "applied"  # the node runs the change, verified
REFUSED = "refused"  # the node cannot take it (kernel, driver, ...), as planned: it shows the fallback
ROLLED_BACK = "rolled back"  # the change failed somewhere and the previous config was restored
SKIPPED = "skipped"  # not approved, nothing to do, or the node is outside the canary
FAILED = "failed"  # something went wrong and could not be put right automatically
# the change failed and its rollback did not finish (failed, was stopped, or was refused so as not to
# overwrite someone else's edit): the node may still run the change; the reason says what to do
ROLLBACK_FAILED = "rollback failed"
OUTCOMES = (APPLIED, REFUSED, ROLLED_BACK, SKIPPED, FAILED, ROLLBACK_FAILED)


@dataclass(frozen=True)
class NodeOutcome:
    node: str
    outcome: str  # one of OUTCOMES
    reason: str

    def to_record(self) -> dict[str, str]:
        return {"node": self.node, "outcome": self.outcome, "reason": self.reason}


def overall(outcomes: Iterable[NodeOutcome]) -> str:
    """One word for the whole change: the worst node outcome; with none applied, refused only when every
    node refused (none can take it), else skipped (e.g. the capable nodes already have it: nothing to do)."""
    found = {o.outcome for o in outcomes}
    for worst in (ROLLBACK_FAILED, FAILED, ROLLED_BACK):
        if worst in found:
            return worst
    if APPLIED in found:
        return APPLIED
    return REFUSED if found == {REFUSED} else SKIPPED
