"""The README: without the real control plane's binary, the `controlplane` tests skip with the reason
(rather than fail or pass unseen). `tests/controlplane.start` is pointed at a binary that is not there,
with and without a Go toolchain on PATH."""

from __future__ import annotations

import pytest

import controlplane


@pytest.mark.parametrize(
    "outside", [False, True], ids=["in the checkout", "$CILIUM_LAB_CONTROLPLANE elsewhere"]
)
@pytest.mark.parametrize("go", [True, False], ids=["with Go", "without Go"])
def test_without_the_binary_a_controlplane_test_skips_saying_why(monkeypatch, tmp_path, go, outside):
    folder = tmp_path.parent / "elsewhere" if outside else controlplane.ROOT / "controlplane" / "bin"
    monkeypatch.setattr(controlplane, "BINARY", folder / "not-built")
    monkeypatch.setattr(controlplane.shutil, "which", lambda name: "/usr/bin/go" if go else None)
    with pytest.raises(pytest.skip.Exception) as skipped, controlplane.start(tmp_path):
        pytest.fail("the control plane started without its binary")
    reason = str(skipped.value)
    assert "not-built is not built" in reason
    assert ("make controlplane" in reason) if go else ("no Go toolchain" in reason)
    assert list(tmp_path.iterdir()) == []  # nothing was started or written
