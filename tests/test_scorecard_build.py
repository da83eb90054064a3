"""The scorecard from a hand-built snapshot of the series' cluster: every item x node, states, JSON, figure."""

from __future__ import annotations

import json

import pytest

from cilium_lab import catalog, scorecard
from cilium_lab.cluster.discover import CiliumInstall
from cilium_lab.cluster.snapshot import Snapshot
from cilium_lab.errors import InputError
from cilium_lab.facts import NodeFacts
from cilium_lab.ui.scorecard_figure import figure

CONFIG = {"tunnel": "vxlan", "kube-proxy-replacement": "strict", "enable-bpf-masquerade": "true"}


def _snapshot(simulated: bool) -> Snapshot:
    vm = NodeFacts(
        "vm-1",
        "6.2.0-39-generic",
        "amd64",
        device="enp1s0",
        nic_driver="virtio_net",
        mtu=1500,
        max_mtu=65535,
        config=CONFIG,
    )
    board = NodeFacts(
        "board-1",
        "4.19.0-25-arm64",
        "arm64",
        device="eth0",
        nic_driver="st_gmac",
        mtu=1500,
        max_mtu=1500,
        config=CONFIG,
    )
    install = CiliumInstall(
        "kube-system", "cilium", "cilium-config", "1.13.4", "quay.io/cilium/cilium:v1.13.4", {}, True
    )
    return Snapshot("admin", "http://127.0.0.1:1", install, CONFIG, "1", (), (vm, board), simulated)


def test_every_item_on_every_node():
    card = scorecard.build(_snapshot(True))
    assert len(card.records) == len(catalog.ITEMS) * 2
    assert card.matrix().shape == (len(catalog.ITEMS), 2)
    assert set(card.frame()["state"]) <= set(catalog.STATES)


def test_board_is_blocked_on_bpf_host_routing_by_its_kernel_and_vm_is_not():
    rows = {(r["item"], r["node"]): r for r in scorecard.build(_snapshot(False)).records}
    board = rows["bpf-host-routing", "board-1"]
    assert board["state"] == "blocked" and any("kernel" in reason for reason in board["reasons"])
    assert rows["bpf-host-routing", "vm-1"]["state"] in {"can-enable", "enabled"}


def test_simulated_is_labelled_in_text_json_and_figure():
    card = scorecard.build(_snapshot(True))
    assert "[SIMULATED]" in card.to_text()
    assert json.loads(json.dumps(card.to_json()))["label"] == "SIMULATED"
    assert "SIMULATED" in figure(card).layout.title.text
    assert "SIMULATED" not in figure(scorecard.build(_snapshot(False))).layout.title.text


def test_not_a_snapshot_is_an_input_error():
    with pytest.raises(InputError, match="needs a Snapshot"):
        scorecard.build({"nodes": []})
