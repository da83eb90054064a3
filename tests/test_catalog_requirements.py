"""Hard requirements against node facts: series-aware kernel thresholds, drivers, MTU, Cilium version."""

import dataclasses

import pytest

from cilium_lab.catalog import requirements
from cilium_lab.catalog.model import CiliumAtLeast, DeviceMtuAtLeast, KernelAtLeast, NicDriverIn
from cilium_lab.cilium.status import CiliumStatus
from cilium_lab.facts import NodeFacts
from cilium_lab.kernel import parse_kernel

URL = "https://docs.cilium.io/en/latest/operations/performance/tuning/"
KPR_KERNEL = KernelAtLeast(("4.19.57", "5.1.16", "5.2"), "BPF NodePort", URL)
NODE = NodeFacts(name="n1", kernel="6.2.0", arch="amd64")


def check(req, node=NODE, cilium_version=None):
    return requirements.check(req, node, needed_by="the step", cilium_version=cilium_version)


@pytest.mark.parametrize(
    ("release", "met"),
    [
        ("4.19.57", True),
        ("4.19.56", False),
        ("4.20.0", False),  # 4.20 and 5.0 never got the backport
        ("5.0.21", False),
        ("5.1.15", False),
        ("5.1.16", True),
        ("5.2.0", True),
        ("6.2.0", True),
    ],
)
def test_kernel_thresholds_are_series_aware(release, met):
    assert requirements.kernel_meets(parse_kernel(release), KPR_KERNEL.versions) is met
    assert check(KPR_KERNEL, dataclasses.replace(NODE, kernel=release)).met is met


def test_a_distribution_0_patch_level_in_the_threshold_series_is_unknown_not_blocked():
    found = check(KPR_KERNEL, dataclasses.replace(NODE, kernel="4.19.0-25-arm64"))
    assert found.met is None
    assert "uname -v" in found.reason
    # a plain upstream 4.19.0 is what it says
    assert check(KPR_KERNEL, dataclasses.replace(NODE, kernel="4.19.0")).met is False


def test_kernel_reason_names_threshold_who_and_why():
    found = check(
        KernelAtLeast(("5.10",), "bpf_redirect_neigh/peer", URL),
        dataclasses.replace(NODE, kernel="5.4.0-150-generic"),
    )
    assert (
        found.reason
        == "kernel 5.4.0-150-generic is older than 5.10, which the step needs (bpf_redirect_neigh/peer)"
    )


def test_an_unreadable_kernel_is_unknown():
    found = check(KPR_KERNEL, dataclasses.replace(NODE, kernel="unknown"))
    assert found.met is None and "not a kernel release string" in found.reason


def test_driver():
    req = NicDriverIn(frozenset({"mlx5_core", "ice"}), "a BIG TCP NIC", URL, what="IPv6 BIG TCP")
    assert check(req, dataclasses.replace(NODE, nic_driver="ice")).met is True
    blocked = check(req, dataclasses.replace(NODE, nic_driver="virtio_net", device="ens3"))
    assert (blocked.met, blocked.reason) == (
        False,
        "NIC driver virtio_net on ens3 is not one IPv6 BIG TCP supports (ice, mlx5_core)",
    )
    assert check(req, NODE).met is None


@pytest.mark.parametrize(
    ("mtu", "max_mtu", "met"),
    [(9000, None, True), (1500, 9216, True), (1500, 1500, False), (1500, None, None), (None, None, None)],
)
def test_device_mtu(mtu, max_mtu, met):
    req = DeviceMtuAtLeast(9000, "jumbo frames", URL)
    assert check(req, dataclasses.replace(NODE, mtu=mtu, max_mtu=max_mtu)).met is met


@pytest.mark.parametrize(
    ("given", "node_version", "status_version", "met"),
    [
        (None, "1.13.4", None, False),
        (None, "1.14.0-snapshot.4", None, True),  # a 1.14 pre-release has 1.14's options
        (None, None, "1.16.5", True),
        ("1.13.4", "1.16.5", None, False),  # the caller's version wins
        (None, None, None, None),
        (None, "garbage", None, None),
    ],
)
def test_cilium_version(given, node_version, status_version, met):
    status = CiliumStatus(version=status_version) if status_version else None
    node = dataclasses.replace(NODE, cilium_version=node_version, status=status)
    found = check(CiliumAtLeast("1.14", "IPv4 BIG TCP option", URL), node, given)
    assert found.met is met
    assert (found.reason == "") is (met is True)
