"""What happened to a change, per node and overall, and what a lab decided: named values, never booleans.

Used by `change.plan` (expected outcomes), `change.verify` and `change.apply` (what happened), the
confirmation widget, the lab session (its decision) and the result records. Both enums are StrEnums:
a record holds the plain strings ("applied", "not approved"), so records written before read the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """What happened to one node, or to the whole change (`overall`)."""

    APPLIED = "applied"  # the node runs the change, verified
    REFUSED = "refused"  # the node cannot take it (kernel, driver, ...), as planned: it shows the fallback
    ROLLED_BACK = "rolled back"  # the change failed somewhere and the previous config was restored
    SKIPPED = "skipped"  # not approved, nothing to do, or the node is outside the canary
    FAILED = "failed"  # something went wrong and could not be put right automatically
    # the change failed and its rollback did not finish (failed, was stopped, or was refused so as not to
    # overwrite someone else's edit): the node may still run the change; the reason says what to do
    ROLLBACK_FAILED = "rollback failed"
    RESTORED = "restored"  # a restore's node only (`change.restore`): back as the backup had it


APPLIED = Outcome.APPLIED
REFUSED = Outcome.REFUSED
ROLLED_BACK = Outcome.ROLLED_BACK
SKIPPED = Outcome.SKIPPED
FAILED = Outcome.FAILED
ROLLBACK_FAILED = Outcome.ROLLBACK_FAILED
OUTCOMES = (
    APPLIED,
    REFUSED,
    ROLLED_BACK,
    SKIPPED,
    FAILED,
    ROLLBACK_FAILED,
)  # a change's; RESTORED is a restore's


class Decision(StrEnum):
    """What one lab run decided, as its result record says: a change's outcome, or why there was none."""

    NOT_REACHED = "not reached"  # a tuning lab whose confirm step did not run
    VIEW = "no change (a view of the series)"  # labs 00 and 99
    NOT_APPROVED = "not approved"  # headless without approve=True, or no click yet
    CANCELLED = "cancelled"  # the learner clicked Cancel
    APPLIED = Outcome.APPLIED.value
    REFUSED = Outcome.REFUSED.value  # no node can take it, or the plan refused the parameters
    ROLLED_BACK = Outcome.ROLLED_BACK.value
    SKIPPED = Outcome.SKIPPED.value
    FAILED = Outcome.FAILED.value
    ROLLBACK_FAILED = Outcome.ROLLBACK_FAILED.value
    MEASURED_LOCALLY = "measured locally (no cluster changed)"  # cluster="local"
    COMMANDS_SHOWN = "no change (commands shown; a kernel change is a node reboot)"  # lab 14

    @classmethod
    def of(cls, outcome: Outcome | str) -> Decision:
        """The decision a change's overall outcome makes."""
        return cls(Outcome(outcome).value)


@dataclass(frozen=True)
class NodeOutcome:
    node: str
    outcome: Outcome
    reason: str

    def to_record(self) -> dict[str, str]:
        return {"node": self.node, "outcome": str(self.outcome), "reason": self.reason}


def overall(outcomes: Iterable[NodeOutcome]) -> Outcome:
    """One word for the whole change: the worst node outcome; with none applied, refused only when every
    node refused (none can take it), else skipped (e.g. the capable nodes already have it: nothing to do)."""
    found = {o.outcome for o in outcomes}
    for worst in (Outcome.ROLLBACK_FAILED, Outcome.FAILED, Outcome.ROLLED_BACK):
        if worst in found:
            return worst
    if Outcome.APPLIED in found:
        return Outcome.APPLIED
    return Outcome.REFUSED if found == {Outcome.REFUSED} else Outcome.SKIPPED
