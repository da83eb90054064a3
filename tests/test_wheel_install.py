"""The built wheel works on its own: installed into a fresh virtualenv and run from an empty folder
outside the checkout, it lists the labs, runs one on the embedded cluster, shows the scorecard and
copies the notebooks out. The data and notebooks it needs must come from the wheel.

The wheel is built offline with this environment's setuptools (--no-build-isolation); the fresh
virtualenv borrows this environment's dependencies through a path entry, but cilium_lab itself only
from the wheel (checked through cilium_lab.__file__, with no PYTHONPATH set).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parent.parent
# what the wheel is built from: a copy, so the build's build/ and egg-info never land in the checkout
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "cilium_lab")


def _setuptools_major() -> int:
    try:
        from importlib.metadata import version

        return int(version("setuptools").split(".")[0])
    except Exception:
        return 0


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (
        f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    )
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh virtualenv with the wheel installed: its bin/ folder, and an environment without PYTHONPATH."""
    if _setuptools_major() < 77:
        pytest.skip(
            "building the wheel offline needs setuptools>=77 in this environment (the test extra installs it)"
        )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")
    }
    env["PIP_NO_INDEX"] = "1"  # nothing from the network: the wheel installs with --no-deps
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    build = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp / "dist"),
            ".",
        ],
        source,
        env,
    )
    assert "deprecat" not in (build.stdout + build.stderr).lower(), build.stdout + build.stderr
    (wheel,) = (tmp / "dist").glob("cilium_lab-*.whl")

    fresh = tmp / "venv"
    venv.EnvBuilder(with_pip=True).create(fresh)
    python = fresh / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env
    ).stdout.strip()
    # this environment's dependencies, after the fresh venv's own packages: its import path less any
    # folder holding cilium_lab, such as the checkout (plain paths: .pth files there, such as an
    # editable install's finder, are not processed; a .venv inside the checkout stays)
    ours = [
        entry
        for entry in sys.path
        if entry and Path(entry).is_dir() and not Path(entry, "cilium_lab").exists()
    ]
    Path(purelib, "zz-test-dependencies.pth").write_text("\n".join(dict.fromkeys(ours)) + "\n")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], tmp, env)
    return fresh / "bin", env


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """An empty folder outside the checkout, to run from."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    assert REPO not in folder.parents
    return folder


def test_cilium_lab_comes_from_the_wheel(installed, outside):
    bin_dir, env = installed
    where = _run(
        [str(bin_dir / "python"), "-c", "import cilium_lab; print(cilium_lab.__file__)"], outside, env
    )
    assert Path(where.stdout.strip()).is_relative_to(bin_dir.parent), where.stdout


def test_the_installed_package_lists_runs_scores_and_copies(installed, outside):
    bin_dir, env = installed
    cli = str(bin_dir / "cilium-lab")

    listed = json.loads(_run([cli, "labs", "--json"], outside, env).stdout)
    assert [lab["name"] for lab in listed][:2] == ["00-overview", "01-native-routing"]
    assert len(listed) == 17
    assert all(Path(lab["notebook"]).is_relative_to(bin_dir.parent) for lab in listed)

    ran = _run([cli, "run", "01", "--out", "out", "-p", "samples", "2", "-p", "duration", "1"], outside, env)
    assert (outside / "out" / "01-native-routing.ipynb").is_file(), ran.stdout + ran.stderr
    record = json.loads((outside / "out" / "results" / "01-native-routing.json").read_text())
    assert record, "lab 01 wrote an empty result record"

    scorecard = _run([cli, "scorecard", "--json"], outside, env)
    assert json.loads(scorecard.stdout), scorecard.stdout

    _run([cli, "labs", "--copy", "notebooks"], outside, env)
    copied = sorted(p.name for p in (outside / "notebooks").iterdir())
    assert copied == sorted(Path(lab["notebook"]).name for lab in listed)
    again = subprocess.run(
        [cli, "labs", "--copy", "notebooks"], cwd=outside, env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 2
    assert again.stderr.startswith("cilium-lab: error: notebooks already has 00-overview.ipynb and 16 more")
