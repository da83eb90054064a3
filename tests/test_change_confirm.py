"""The confirmation widget never applies without approval, and applies exactly once with it."""

from __future__ import annotations

import pytest

from cilium_lab.errors import InputError
from cilium_lab.ui.confirm import NOT_APPLIED, confirm


class _Report:
    def to_html(self) -> str:
        return "<p>applied</p>"


def test_headless_without_approval_only_shows_and_says_not_applied(capsys):
    calls = []
    decision = confirm(object(), lambda plan, approved: calls.append(approved), approve=False)
    assert decision.state == "pending" and not decision.applied and calls == []
    assert NOT_APPLIED in capsys.readouterr().out


def test_approve_applies_once_and_click_path_applies_once():
    calls = []

    def apply(plan, approved):
        calls.append(approved)
        return _Report()

    assert confirm(object(), apply, approve=True, show=False).state == "applied"
    pending = confirm(object(), apply, approve=False, show=False)
    apply_button = pending.widget.children[0].children[0]
    apply_button.click()
    assert pending.state == "applied" and calls == [True, True] and apply_button.disabled


def test_approve_must_be_a_bool():
    with pytest.raises(InputError, match="approve must be True or False"):
        confirm(object(), lambda plan, approved: None, approve="yes")
