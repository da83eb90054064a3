"""The README's promises about the two commands, run through GNU make with a stand-in virtualenv (VENV
given on the command line, so nothing is installed): `make lab` runs the whole series approved into OUT
and accepts exactly the exits 4 (a lab refused) and 5 (a lab rolled back) besides 0; `make test` runs
ruff, the layer contracts and pytest on 2 workers, then the root-only tests on their own, last; `make
jupyter` makes its working copy once and serves JupyterLab with the loopback-only config."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")

FAKE = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
exit {code}
"""


def _venv(tmp_path: Path, code: int = 0) -> Path:
    """A stand-in .venv whose tools log their arguments and exit with `code`; its stamp is up to date."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    for tool in ("cilium-lab", "ruff", "lint-imports", "pytest", "jupyter"):
        path = venv / "bin" / tool
        path.write_text(FAKE.format(log=tmp_path / "calls.log", code=code))
        path.chmod(0o755)
    stamp = venv / ".installed"
    stamp.touch()
    later = (ROOT / "pyproject.toml").stat().st_mtime + 3600
    os.utime(stamp, (later, later))  # newer than pyproject.toml: make installs nothing
    return venv


def _calls(tmp_path: Path) -> list[str]:
    return [line.strip() for line in (tmp_path / "calls.log").read_text().splitlines()]


def _make(target: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(ROOT), "--no-print-directory", target, *extra],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("code", [0, 4, 5, 1, 2, 3, 6, 130, 143])
def test_make_lab_runs_the_series_approved_and_accepts_only_refused_and_rolled_back(tmp_path, code):
    venv, out = _venv(tmp_path, code), tmp_path / "out"
    done = _make("lab", tmp_path, f"VENV={venv}", f"OUT={out}")
    assert (done.returncode == 0) == (code in (0, 4, 5)), done.stderr
    calls = _calls(tmp_path)
    assert calls == [f"cilium-lab run --all --approve --html --out {out}"]


def test_make_test_lints_then_tests_on_two_workers_then_root_tests_alone(tmp_path):
    venv = _venv(tmp_path)
    done = _make("test", tmp_path, f"VENV={venv}")
    assert done.returncode == 0, done.stderr
    assert _calls(tmp_path) == [
        "ruff check .",
        "ruff format --check .",
        "lint-imports",
        "pytest -n 2 --dist loadgroup -m not root",
        "pytest -m root",  # last and alone: nothing else loads the CPUs while real packets are measured
    ]
    failing = _venv(tmp_path / "failing", 1)
    assert _make("test", tmp_path, f"VENV={failing}").returncode != 0  # a failing lint stops it


def test_make_jupyter_copies_the_labs_once_and_serves_on_the_loopback(tmp_path):
    venv, labs = _venv(tmp_path), tmp_path / "my-labs"
    assert _make("jupyter", tmp_path, f"VENV={venv}", f"LABS={labs}").returncode == 0
    labs.mkdir()  # what `cilium-lab labs --copy` made
    assert _make("jupyter", tmp_path, f"VENV={venv}", f"LABS={labs}").returncode == 0
    config = "--config=jupyter/jupyter_server_config.py"
    assert _calls(tmp_path) == [
        f"cilium-lab labs --copy {labs}",
        f"jupyter lab {config} --notebook-dir={labs}",
        f"jupyter lab {config} --notebook-dir={labs}",  # the second time, the copy is kept
    ]
    traitlets = pytest.importorskip("traitlets.config")
    settings = traitlets.Config()
    source = (ROOT / "jupyter" / "jupyter_server_config.py").read_text()
    exec(
        compile(source, "jupyter_server_config.py", "exec"), {"get_config": lambda: settings}
    )  # as jupyter does
    assert settings.ServerApp.ip == "127.0.0.1"


@pytest.mark.parametrize("target", ["lab", "test", "jupyter", "notebooks", "bench"])
def test_each_target_creates_the_venv_and_installs_the_package_first_on_first_use(tmp_path, target):
    venv = tmp_path / "fresh"  # no stamp yet: as on a fresh machine (-n: only print what would run)
    done = _make(target, tmp_path, "-n", f"VENV={venv}")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    steps = [
        f"-m venv {venv}",
        f"{venv}/bin/python -m pip install --quiet -e '.[test,jupyter]'",
        f"touch {venv}/.installed",
    ]
    found = [next(i for i, line in enumerate(lines) if step in line) for step in steps]
    assert found == sorted(found) and found[-1] < len(lines) - 1, done.stdout  # then the target's own work
    assert not venv.exists()  # a dry run
