"""The source series' reference nodes as `NodeFacts`, for examples, docs and tests of readiness.

Read by tests and by labs that explain what the series' own cluster could and could not enable
(reference/cilium-tuning.md scope and A.3). Calls nothing. Only what the series and the reference state
is filled in; the rest stays None (unknown): the boards' NIC driver, every device MTU. No agent status
either: these are descriptions, not observations of a cluster.
"""

from cilium_lab.facts import NodeFacts

SERIES_CILIUM_VERSION = "1.13.4"

# 3x Ubuntu 23.04 VMs, kernel 6.2 on x86 (virtio NICs).
UBUNTU_VM = NodeFacts(
    name="ubuntu-vm",
    kernel="6.2.0-39-generic",
    arch="amd64",
    os_image="Ubuntu 23.04",
    kernel_build="#40-Ubuntu SMP PREEMPT_DYNAMIC Mon Nov 20 10:53:34 UTC 2023",
    nic_driver="virtio_net",
    cilium_version=SERIES_CILIUM_VERSION,
)

# 3x Debian 10 boards, kernel 4.19 on arm64; `uname -v` carries the upstream patch level (reference A.3).
DEBIAN_BOARD = NodeFacts(
    name="debian-board",
    kernel="4.19.0-25-arm64",
    arch="arm64",
    os_image="Debian GNU/Linux 10 (buster)",
    kernel_build="#1 SMP Debian 4.19.289-2 (2023-08-08)",
    cilium_version=SERIES_CILIUM_VERSION,
)

SERIES_NODES = (UBUNTU_VM, DEBIAN_BOARD)
