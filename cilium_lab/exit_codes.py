"""The exit codes of every `cilium-lab` verb (the README's table), and the one mapping from what
happened to a code.

0 what was asked happened (a plan shown, a change applied and verified, nothing to do); 1 internal
error (a bug, traceback kept); 2 bad input, nothing changed or written; 3 the cluster stopped us
before any change; 4 refused, no node can take the change; 5 failed and rolled back, verified;
6 unfinished (`cilium-lab recover` finishes it); 130/143 interrupted by SIGINT/SIGTERM. A batch
exits with the most severe code of its labs (`most_severe`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cilium_lab.errors import LabError

OK, INTERNAL, BAD_INPUT, CLUSTER, REFUSED, ROLLED_BACK, UNFINISHED = 0, 1, 2, 3, 4, 5, 6
SIGINT, SIGTERM = 130, 143  # 128 + the signal's number, as a shell reports it
SEVERITY = (UNFINISHED, INTERNAL, SIGTERM, SIGINT, ROLLED_BACK, CLUSTER, REFUSED, BAD_INPUT, OK)
MEANING = {
    OK: "what was asked happened: a plan shown without --approve, a change applied and verified, nothing to do "
    "(skipped)",
    INTERNAL: "internal error (a bug: the traceback is kept)",
    BAD_INPUT: "bad input (arguments, parameters, files): nothing changed, nothing written",
    CLUSTER: "the cluster stopped us before any change: unreachable, forbidden, NotReady nodes, lease held by "
    "another live run, an unfinished change, a concurrent edit detected before our first write",
    REFUSED: "refused: no node can take the change (kernel, driver, prerequisite); nothing changed",
    ROLLED_BACK: "failed and rolled back: the change failed (API error, rollout, crash loop, verification, "
    "concurrent edit) and the cluster runs the backup's config again, verified",
    UNFINISHED: "unfinished: the rollback failed, was stopped (second Ctrl-C) or was refused (someone else's "
    "edit), or a dead run was found; the journal says what is left, `cilium-lab recover` finishes it",
    SIGINT: "interrupted by Ctrl-C (SIGINT), rolled back and verified, or nothing had been written",
    SIGTERM: "interrupted by SIGTERM, rolled back and verified, or nothing had been written",
}
# a lab's decision (change.outcomes.Decision, as its result record holds it) -> its code
_DECISIONS = {"refused": REFUSED, "rolled back": ROLLED_BACK, "failed": UNFINISHED}


def most_severe(codes: Iterable[int]) -> int:
    """The batch's code: the most severe of its labs' (an unknown code counts as internal)."""
    return min(codes, key=lambda c: SEVERITY.index(c) if c in SEVERITY else 1, default=OK)


def of_error(err: BaseException) -> int:
    """A verb's code for the exception that ended it: a LabError's own `exit_code` (2 bad input, 3 the
    cluster stopped us), 130 for Ctrl-C, else 1 (a bug)."""
    if isinstance(err, KeyboardInterrupt):
        return SIGINT
    return err.exit_code if isinstance(err, LabError) else INTERNAL


def of_error_name(name: str) -> int:
    """By class name (a notebook's error reaches a batch as its name): the LabError family's code."""
    for cls in _family(LabError):
        if cls.__name__ == name:
            return cls.exit_code
    return SIGINT if name == "KeyboardInterrupt" else INTERNAL


def _family(cls: type) -> Iterable[type]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _family(sub)


def of_lab(record: Mapping[str, object], error_name: str = "") -> int:
    """One lab's code from its result record (the code the change reported, else its decision) and, when
    the notebook stopped with an error, that error's name. A plan without --approve, a skipped or applied
    change, a view: 0."""
    code = record.get("exit_code")
    if isinstance(code, int) and not isinstance(code, bool) and code:
        return code  # the change transaction's own (rolled back, unfinished, interrupted)
    decision = str(record.get("decision", ""))
    if decision == "failed" and not record.get("apply"):
        return CLUSTER  # stopped before any write
    if decision in _DECISIONS:
        return _DECISIONS[decision]
    return of_error_name(error_name) if error_name else OK
