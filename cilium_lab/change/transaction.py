"""One change transaction: lock, backup, journal, forward steps, and on any failure or interrupt the undo.

A Cilium config change, a restore, lab 15's host tuning and a host restore all run through `run`. The
caller gives its own steps as three callables: `save` (the backup, made under the lock; it names it
for the journal), `forward(tx)` (the writes, rollout and verification, each through `tx.step`) and
`undo(tx, failure)` (back to the backup, rolled out and verified; it raises when it cannot). The
transaction owns the order:

1. take the lock; refuse (`journal.UnfinishedChange`) while another change's journal is open;
2. `save`, then open the journal naming the backup (on disk and in the cluster);
3. `forward`: each step is journaled as about to happen and as done, with a cancellation checkpoint
   before and after it (`change.cancellation`);
4. on ANY exception or interrupt after the first write: `undo`, then close the journal. Before the
   first write nothing is undone: the journal is closed as "nothing changed" and the error is raised
   again (or, for an interrupt, reported);
5. release the lock; a failed release is a warning and never hides the change's own error.

The journal stays open (the next change is refused; `cilium-lab recover` finishes it) only when the
undo failed or a second signal stopped it. A rollback that would overwrite someone else's edit is
refused by the undo (`RollbackRefused`): the journal closes, the other edit stays, the report says
what to compare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cilium_lab import exit_codes
from cilium_lab.change import cancellation, journal, lock
from cilium_lab.change.recording import Progress
from cilium_lab.cluster import apierrors
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, LabError

T = TypeVar("T")
# answers that say a write did not happen (a 5xx, a timeout or an interrupt leave it uncertain)
REFUSED_WRITES = (
    apierrors.Forbidden,
    apierrors.Unauthorized,
    apierrors.Conflict,
    apierrors.AlreadyExists,
    apierrors.NotFound,
)

# What a transaction ended as (`Result.state`)
DONE = "done"  # every forward step ran and the change is verified
NOT_WRITTEN = "not written"  # stopped (interrupt) before its first write: nothing changed
ROLLED_BACK = "rolled back"  # failed or interrupted after a write; the backup is back, verified
ROLLBACK_FAILED = "rollback failed"  # the undo failed: the journal is open, `cilium-lab recover` finishes it
ROLLBACK_REFUSED = "rollback refused"  # someone else changed the object since: their edit is left in place
STOPPED = "stopped"  # a second signal stopped the rollback: the journal is open and says what is left

# the codes a change ends with (exit_codes: 5 rolled back, 6 unfinished; interrupts in cancellation)
EXIT_ROLLED_BACK, EXIT_UNFINISHED = exit_codes.ROLLED_BACK, exit_codes.UNFINISHED


class StepFailed(ClusterError):
    """A forward step did not reach its goal (a rollout that timed out, a verification that failed)."""


class RollbackRefused(ClusterError):
    """The undo would overwrite an edit someone else made since this change wrote: it is not done."""


class RollbackFailed(ClusterError):
    """The undo ran but the cluster is not verified as the backup (rollout, agent health, config)."""


@dataclass
class Result:
    state: str
    failure: str = ""  # why the change did not finish: the first error, never a later one
    interrupted: str = ""  # "SIGINT" / "SIGTERM" when a signal cancelled it
    undo_error: str = ""  # why the undo failed, was refused or stopped
    undone: Any = None  # what `undo` returned (per-node outcomes, verified)
    journal_path: str = ""
    journal_run: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.state in (ROLLBACK_FAILED, ROLLBACK_REFUSED, STOPPED):
            return EXIT_UNFINISHED
        if self.interrupted:
            return cancellation.EXIT_CODES.get(self.interrupted, 130)
        return EXIT_ROLLED_BACK if self.state == ROLLED_BACK else 0


@dataclass
class Transaction:
    """What the forward and undo steps see: the journal, the cancellation, which steps began."""

    conn: Connection
    journal: journal.Journal
    cancel: cancellation.Cancellation
    say: Progress
    written: bool = False
    begun: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # what a step learnt that the undo needs

    def step(self, name: str, fn: Callable[[], T], *, writes: bool = False) -> T:
        """Run one journaled step: checkpoint, "about", the step, "done", checkpoint.

        `writes` marks a step that changes the cluster: from its start on, a failure is undone (a
        write whose answer was lost may have happened). A signal that came during the step raises at the
        checkpoint after it, and its return value is then lost: what the undo needs, `fn` records itself."""
        self.cancel.checkpoint()
        self.journal.about(name)
        self.begun.append(name)
        was = self.written
        self.written = self.written or writes
        try:
            result = fn()
        except REFUSED_WRITES:
            self.written = was  # the server refused it: this step wrote nothing
            raise
        self.journal.done(name)
        self.cancel.checkpoint()
        return result

    def undo_step(self, name: str, fn: Callable[[], T]) -> T:
        """A step of the undo: journaled the same way, never cancelled (only a second signal stops it)."""
        self.journal.about(f"undo: {name}")
        result = fn()
        self.journal.done(f"undo: {name}")
        return result


def describe(err: BaseException) -> str:
    if isinstance(err, cancellation.Interrupted):
        return str(err)
    if isinstance(err, KeyboardInterrupt):
        return "interrupted by SIGINT"
    if isinstance(err, LabError):
        return str(err)
    return f"unexpected error: {type(err).__name__}: {err}"


def refuse_unfinished(conn: Connection, namespace: str, allowed: str = "") -> None:
    """Raise `UnfinishedChange` when a journal in the cluster is still open (another change did not finish);
    `allowed` names the run a recovery finishes."""
    found = [r for r in journal.cluster_journals(conn, namespace) if not allowed or r.get("run") != allowed]
    if found:
        what = "; ".join(journal.describe(r).replace("\n", ";") for r in found)
        raise journal.UnfinishedChange(
            f"refused, nothing changed: an earlier change on this cluster did not finish ({what});"
            " see what it left with `cilium-lab recover`, and finish its undo with `cilium-lab recover --approve`"
        )


def run(
    conn: Connection,
    namespace: str,
    *,
    kind: str,
    purpose: str,
    results_dir: str | Path,
    say: Progress,
    save: Callable[[], dict[str, str]],
    forward: Callable[[Transaction], None],
    undo: Callable[[Transaction, str], Any],
    discard: Callable[[], None] = lambda: None,
    recovering: str = "",
) -> Result:
    """Run a change as one transaction (see the module docstring); raises only before its first write."""
    warnings: list[str] = []
    # the signal handlers first: a Ctrl-C from here on cancels the change (before any write: nothing to undo)
    with cancellation.guard(say) as cancel:
        held = lock.acquire(conn, namespace, purpose=purpose)
        cancel.lease_check = held.check  # a lease lost mid-change stops it at the next checkpoint
        try:
            say(f"lock {namespace}/{lock.NAME} taken")
            refuse_unfinished(conn, namespace, recovering)
            result = _run(
                conn, namespace, kind, purpose, results_dir, say, cancel, save, forward, undo, discard
            )
        finally:
            try:
                lock.release(conn, held)
                say(f"lock {namespace}/{lock.NAME} released")
            except ClusterError as err:  # never hides the change's own error: only said
                warnings.append(f"the lock {namespace}/{lock.NAME} could not be released: {err}")
                say(warnings[-1])
    result.warnings += warnings
    return result


def _run(
    conn: Connection,
    namespace: str,
    kind: str,
    purpose: str,
    results_dir: str | Path,
    say: Progress,
    cancel: cancellation.Cancellation,
    save: Callable[[], dict[str, str]],
    forward: Callable[[Transaction], None],
    undo: Callable[[Transaction, str], Any],
    discard: Callable[[], None],
) -> Result:
    backup = save()
    try:
        opened = journal.open_journal(
            conn,
            namespace,
            results_dir,
            kind=kind,
            purpose=purpose,
            backup=backup,
            holder=lock.default_holder(),
        )
    except BaseException:
        discard()
        raise
    tx = Transaction(conn, opened, cancel, say)
    say(f"journal {opened.path} and configmap {namespace}/{opened.configmap} opened")
    try:
        forward(tx)
    except cancellation.HardStop as err:
        if not tx.written:
            opened.drop()
            discard()
            return _result(tx, NOT_WRITTEN, str(err), err.signal)
        return _stopped(tx, f"stopped before the rollback began ({err})", str(err))
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt) and not cancel.cancelled:
            cancel.cancelled = "SIGINT"  # raised by someone else's handler: the first interrupt all the same
        failure = describe(err)
        interrupted = (
            cancel.cancelled if isinstance(err, cancellation.Interrupted | KeyboardInterrupt) else ""
        )
        if not tx.written:
            opened.drop()
            discard()
            if interrupted:
                say(f"{failure} before anything was written: nothing changed")
                return _result(tx, NOT_WRITTEN, failure, interrupted)
            raise
        return _undo(tx, undo, failure, interrupted)
    opened.close("applied")
    return _result(tx, DONE, "", "")


def _undo(tx: Transaction, undo: Callable[[Transaction, str], Any], failure: str, interrupted: str) -> Result:
    tx.cancel.undoing = True
    try:
        tx.journal.mark(journal.UNDOING, failure=failure)
        tx.say(f"rolling back: {failure}")
        undone = undo(tx, failure)
    except cancellation.HardStop as err:
        return _stopped(tx, failure, str(err), interrupted)
    except KeyboardInterrupt:  # no handler of ours (not the main thread): a second interrupt all the same
        return _stopped(tx, failure, "stopped by a second SIGINT", interrupted)
    except RollbackRefused as err:
        tx.journal.close(f"rollback refused: {err}")
        result = _result(tx, ROLLBACK_REFUSED, failure, interrupted)
        result.undo_error = str(err)
        tx.say(f"rollback refused: {err}")
        return result
    except BaseException as err:
        why = describe(err)
        tx.journal.mark(journal.UNFINISHED, failure=failure, left=_left(tx, why))
        tx.say(f"rollback failed: {why}")
        result = _result(tx, ROLLBACK_FAILED, failure, interrupted)
        result.undo_error = why
        return result
    tx.journal.close("rolled back")
    tx.say("rolled back and verified")
    result = _result(tx, ROLLED_BACK, failure, interrupted)
    result.undone = undone
    return result


def _left(tx: Transaction, why: str) -> str:
    backup = tx.journal.record.get("backup", {})
    return (
        f"the undo did not finish ({why}); the cluster may still hold this change: `cilium-lab recover --approve`"
        f" puts backup {backup.get('configmap') or backup.get('path', '?')} back, rolls out and verifies"
    )


def _stopped(tx: Transaction, failure: str, why: str, interrupted: str = "") -> Result:
    tx.journal.mark(journal.UNFINISHED, failure=failure, left=_left(tx, why))
    tx.say(f"rollback stopped: {why}; the journal {tx.journal.path} says what is left")
    result = _result(tx, STOPPED, failure, interrupted or tx.cancel.cancelled)
    result.undo_error = why
    return result


def _result(tx: Transaction, state: str, failure: str, interrupted: str) -> Result:
    return Result(
        state,
        failure,
        interrupted,
        journal_path=str(tx.journal.path),
        journal_run=tx.journal.run,
        warnings=list(tx.journal.warnings),
    )
