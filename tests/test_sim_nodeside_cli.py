"""`cilium-lab sim serve --control-plane real`: what it refuses, in one line and before anything starts
(no control plane program is needed for that; its run is in test_controlplane_nodeside)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cilium_lab.cli import main


def serve(*args: str) -> int:
    try:
        return main(["sim", "serve", "--control-plane", "real", *args])
    except SystemExit as exit_:  # argparse's own errors exit
        return int(exit_.code or 0)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_without_the_program_it_says_how_to_build_it(folder: Path, monkeypatch, capsys):
    monkeypatch.setenv("CILIUM_LAB_CONTROLPLANE", str(folder / "nowhere" / "cilium-lab-controlplane"))
    assert serve("--kubeconfig", "k") == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert "no real control plane program at" in err and "make controlplane" in err, err
    assert "CILIUM_LAB_CONTROLPLANE" in err
    assert list(folder.iterdir()) == []


def test_a_state_file_does_not_apply(folder: Path, capsys):
    assert serve("--kubeconfig", "k", "--state", "s.json") == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert "leave --state out" in err
    assert list(folder.iterdir()) == []


def test_an_unknown_mode_is_refused(folder: Path, capsys):
    try:
        code = main(["sim", "serve", "--kubeconfig", "k", "--control-plane", "kind"])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1, err
    assert "invalid choice: 'kind' (choose from 'emulated', 'real')" in err
    assert list(folder.iterdir()) == []
