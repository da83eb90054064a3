"""`cilium-lab sim serve` and `sim profiles` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys

import pytest
import yaml
from kubernetes import client, config

from cilium_lab.errors import InputError
from cilium_lab.sim.cluster import EmbeddedCluster

# Runs only the `sim` verb (as `cilium-lab` registers it), so these tests do not depend on other verbs' imports.
SIM_VERB = """
import argparse, sys
from cilium_lab.cli import verb_sim as sim
from cilium_lab.errors import LabError
parser = argparse.ArgumentParser(prog="cilium-lab")
sim.register(parser.add_subparsers(dest="verb", required=True))
args = parser.parse_args(sys.argv[1:])
try:
    sys.exit(args.func(args))
except LabError as err:
    print(f"cilium-lab: error: {err}", file=sys.stderr)
    sys.exit(2)
"""
CLI = [sys.executable, "-c", SIM_VERB]


def test_profiles_lists_the_shipped_profiles():
    done = subprocess.run(
        [*CLI, "sim", "profiles", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    names = [p["name"] for p in json.loads(done.stdout)]
    assert "seed-mixed" in names


def test_serve_writes_a_kubeconfig_serves_and_saves_state_on_sigterm(tmp_path):
    kubeconfig, state = tmp_path / "kubeconfig", tmp_path / "state.json"
    command = [*CLI, "sim", "serve", "--kubeconfig", str(kubeconfig), "--state", str(state)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert "SIMULATED" in line and "https://127.0.0.1:" in line
        assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600  # created so (O_EXCL), never chmod'ed later
        server_url = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        assert server_url.startswith("https://127.0.0.1:")
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig), context="admin"))
        core.patch_namespaced_config_map("cilium-config", "kube-system", {"data": {"cli-test": "1"}})
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
    saved = json.loads(state.read_text())
    configmaps = [obj for key, obj in saved["store"]["objects"] if key[0] == "configmaps"]
    assert any(obj["data"].get("cli-test") == "1" for obj in configmaps)


def test_serve_refuses_a_kubeconfig_in_a_missing_directory(tmp_path):
    command = [*CLI, "sim", "serve", "--kubeconfig", str(tmp_path / "no" / "kc")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "does not exist" in done.stderr


def test_serve_refuses_an_existing_kubeconfig_and_a_directory(tmp_path):
    """Someone's real kubeconfig is never overwritten without --force; a directory is named as one."""
    existing = tmp_path / "config"
    existing.write_text("someone's real kubeconfig\n")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "missing-target")  # a dangling link is refused too: it names a file
    for path, message in (
        (existing, f"--kubeconfig {existing} exists and is left as it is: name a new file, or add --force"),
        (link, f"--kubeconfig {link} exists"),
        (tmp_path, f"--kubeconfig {tmp_path} is a directory: name a file"),
    ):
        done = subprocess.run([*CLI, "sim", "serve", "--kubeconfig", str(path)], capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith("cilium-lab: error: ") and done.stderr.count("\n") == 1, done.stderr
        assert message in done.stderr
    assert (
        existing.read_text() == "someone's real kubeconfig\n" and not (tmp_path / "missing-target").exists()
    )
    assert sorted(os.listdir(tmp_path)) == ["config", "link"]


def test_serve_with_force_replaces_the_file_by_a_private_one(tmp_path):
    existing = tmp_path / "config"
    existing.write_text("old\n")
    existing.chmod(0o644)
    command = [*CLI, "sim", "serve", "--kubeconfig", str(existing), "--force"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "SIMULATED" in server.stdout.readline()
        assert yaml.safe_load(existing.read_text())["kind"] == "Config"
        assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0


def test_the_python_api_never_writes_through_an_existing_file(tmp_path):
    existing = tmp_path / "kubeconfig"
    existing.write_text("mine\n")
    cluster = EmbeddedCluster(kubeconfig=str(existing))
    with pytest.raises(InputError, match=f"cannot write the kubeconfig to {existing}: File exists"):
        cluster.start()
    assert existing.read_text() == "mine\n" and not cluster.serving
