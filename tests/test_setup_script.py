"""scripts/setup-local-lab.sh: its options and refusals (nothing is installed by these tests)."""

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "setup-local-lab.sh"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=30)


def test_help_names_every_package_and_the_option():
    out = run("--help")
    assert out.returncode == 0
    for word in ("netperf", "iperf3", "clang", "libbpf", "iproute2", "--enable-non-free"):
        assert word in out.stdout


def test_an_unknown_option_is_one_line_and_exit_2():
    out = run("--yes-please")
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0
    assert "unknown option --yes-please" in out.stderr


def test_the_makefile_and_ci_use_it():
    root = SCRIPT.parents[1]
    assert "scripts/setup-local-lab.sh --enable-non-free" in (root / "Makefile").read_text()
    assert "scripts/setup-local-lab.sh --enable-non-free" in (root / ".ci" / "run").read_text()
