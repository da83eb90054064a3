"""A snapshot reads each node in one exec once it knows the node's device, and never trusts that guess.

The default route's device decides which link and driver to read. The first snapshot of a node needs a
second exec for them; later ones send the remembered device's reads with the first, and read again when
the route names another device (the guess is checked against the route read in the same exec).
"""

from __future__ import annotations

from collections import Counter

import pytest

from cilium_lab.cluster import discover, snapshot
from cilium_lab.cluster import exec as pod_exec


@pytest.fixture
def execs(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Execs per pod, counted at the library's one exec function (the snapshot's only way in)."""
    counted: Counter[str] = Counter()
    run = pod_exec.run

    def counting(conn, namespace, pod, argv, **kwargs):  # type: ignore[no-untyped-def]
        counted[pod] += 1
        return run(conn, namespace, pod, argv, **kwargs)

    monkeypatch.setattr(pod_exec, "run", counting)
    monkeypatch.setattr(snapshot, "_DEVICE_SEEN", {})
    return counted


def _facts(snap: snapshot.Snapshot) -> dict[str, tuple]:
    return {n.name: (n.device, n.mtu, n.max_mtu, n.nic_driver) for n in snap.nodes}


def test_the_second_snapshot_reads_each_node_in_one_exec_and_finds_the_same(conn, execs):
    install = discover.find(conn)
    first = snapshot.take(conn, install=install)
    assert all(execs[pod.name] == 2 for pod in install.agents.values())  # route first, then its device
    assert all(device and mtu and driver for device, mtu, _, driver in _facts(first).values())
    execs.clear()
    second = snapshot.take(conn, install=install)
    assert all(execs[pod.name] == 1 for pod in install.agents.values())
    assert _facts(second) == _facts(first)


def test_a_wrong_guess_is_read_again_for_the_device_the_route_names(conn, execs):
    install = discover.find(conn)
    truth = _facts(snapshot.take(conn, install=install))
    for key in list(snapshot._DEVICE_SEEN):
        snapshot._DEVICE_SEEN[key] = "lo"  # a device every node has, with another MTU than its NIC
    execs.clear()
    again = snapshot.take(conn, install=install)
    assert _facts(again) == truth
    assert all(execs[pod.name] == 2 for pod in install.agents.values())
