"""One word for a whole change, from its per-node outcomes."""

import pytest

from cilium_lab.change import outcomes
from cilium_lab.change.outcomes import APPLIED, FAILED, REFUSED, ROLLED_BACK, SKIPPED, NodeOutcome


def overall(*words: str) -> str:
    return outcomes.overall(NodeOutcome(f"n{i}", word, "") for i, word in enumerate(words))


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ((APPLIED, REFUSED, SKIPPED), APPLIED),
        ((APPLIED, FAILED), FAILED),
        ((APPLIED, ROLLED_BACK, REFUSED), ROLLED_BACK),
        ((REFUSED, REFUSED), REFUSED),  # no node can take it
        (
            (SKIPPED, REFUSED),
            SKIPPED,
        ),  # the capable nodes already have it: nothing to do (lab 06 after 02+03)
        ((SKIPPED, SKIPPED), SKIPPED),
    ],
)
def test_the_worst_outcome_names_the_change(words, expected):
    assert overall(*words) == expected
