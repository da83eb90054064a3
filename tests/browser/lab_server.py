"""JupyterLab and the browser driver for the browser tests: start, wait, drive, stop.

Used by tests/test_browser_*.py. `missing_tools()` says why the tests must skip (no Chromium, Node or
driver); `running_jupyterlab()` starts JupyterLab on a free loopback port with a token, the
project's jupyter/jupyter_server_config.py and settings isolated in a temp folder, and shuts it
down (kernels included) at the end; `drive()` runs tests/browser/drive_lab.js under Node and returns
what it saw. Calls Node, npm and Chromium as subprocesses; each runs in its own process group,
which is ended at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SERVER_CONFIG = REPO / "jupyter" / "jupyter_server_config.py"
CHROMIUM = os.environ.get("CILIUM_LAB_CHROMIUM", "/usr/bin/chromium")
DRIVER = HERE / "drive_lab.js"
# windowingMode "none" keeps every cell in the page, so the test finds cells without scrolling.
USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: where it listens and the token that opens it."""

    base_url: str
    token: str
    root: Path

    def notebook_url(self, relative: str) -> str:
        # reset: start from an empty workspace, not the tabs an earlier run left open
        return f"{self.base_url}/lab/tree/{relative}?reset&token={self.token}"


def missing_tools() -> str | None:
    """Why the browser tests cannot run here, or None; installs the pinned driver on first use."""
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not shutil.which("node") or not shutil.which("npm"):
        return "no node/npm on PATH (the browser driver is playwright-core under Node)"
    if (HERE / "node_modules" / "playwright-core").is_dir():
        return None
    done = subprocess.run(
        ["npm", "ci", "--prefix", str(HERE), "--no-audit", "--no-fund", "--loglevel=error"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        return f"npm ci --prefix tests/browser failed: {done.stderr.strip()[-300:]}"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _isolated_env(home: Path) -> dict[str, str]:
    """Jupyter and IPython folders of this run only: no user settings or startup files leak in."""
    env = dict(os.environ)
    for name, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
    ):
        env[name] = str(home / sub)
        (home / sub).mkdir(parents=True, exist_ok=True)
    for file, values in USER_SETTINGS.items():
        target = home / "settings" / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    return env


def _wait_until_up(lab: Lab, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {process.returncode}: {log.read_text()[-2000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{lab.base_url}/api/status?token={lab.token}", timeout=5) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not answer in {timeout:.0f}s: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def running_jupyterlab(root: Path, home: Path) -> Iterator[Lab]:
    """JupyterLab serving `root` on 127.0.0.1; stopped, with its kernels, when the block ends."""
    port, token = free_port(), secrets.token_hex(24)
    lab = Lab(f"http://127.0.0.1:{port}", token, root)
    log = home / "jupyterlab.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--config={SERVER_CONFIG}",
        "--ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=_isolated_env(home),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_up(lab, process, log)
        yield lab
    finally:
        _stop(lab, process)


def _stop(lab: Lab, process: subprocess.Popen) -> None:
    """Ask the server to shut down (it stops its kernels); end its process group if it will not."""
    with contextlib.suppress(OSError):
        request = urllib.request.Request(f"{lab.base_url}/api/shutdown?token={lab.token}", method="POST")
        urllib.request.urlopen(request, timeout=10).close()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the group this test started: leftover kernels
    process.wait()


def drive(url: str, name: str, click: str, artifacts: Path, work: Path, timeout: float = 420) -> dict:
    """Run drive_lab.js against `url`, clicking `click` ("Apply" or "Cancel"); returns its findings."""
    artifacts.mkdir(parents=True, exist_ok=True)
    config = {
        "url": url,
        "name": name,
        "click": click,
        "artifacts": str(artifacts),
        "chromium": CHROMIUM,
        "result": str(work / f"{name}-result.json"),
        "timeoutMs": int(timeout * 1000 * 0.8),
    }
    return run_driver(DRIVER, config, work / f"{name}-config.json", timeout)


def run_driver(script: Path, config: dict, config_path: Path, timeout: float) -> dict:
    """Run a node browser driver on `config` (written to `config_path`) and return the JSON it wrote to
    config["result"], with its console output as "driver_output"; node and the Chromium it started are
    killed as a process group whatever happens."""
    config_path.write_text(json.dumps(config))
    process = subprocess.Popen(
        ["node", str(script), str(config_path)],
        cwd=script.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        output = f"driver timed out after {timeout:.0f}s"
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # node and the Chromium it started
        process.wait()
    result_path = Path(config["result"])
    if not result_path.exists():
        raise RuntimeError(f"the browser driver {script.name} wrote no result: {output[-2000:]}")
    result = json.loads(result_path.read_text())
    result["driver_output"] = output
    return result
