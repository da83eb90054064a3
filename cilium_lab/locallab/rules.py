"""iptables rule sets for the local lab's node namespaces, as `iptables-restore` texts.

Called by `locallab.knobs`; calls `iptables-restore --noflush` / `iptables` inside one of the lab's
node namespaces (never the root namespace). Each text flushes the chains it fills, so applying an arm
twice gives the same state. Addresses in 10.96.0.0/16 exist only as rule matches: nothing is routed
there (kernel-lab.md §2.2, §2.3).
"""

from __future__ import annotations

from cilium_lab.locallab import shell
from cilium_lab.locallab.topology import POD_B

DEFAULT_FORWARD_RULES = 1_000  # the "1,000 iptables rules"
FEW_SERVICES, MANY_SERVICES = 10, 10_000  # kernel-lab.md §2.3 measured 10 vs 10,000
CLUSTER_IP = "10.96.0.10"
SERVICE_DATA_PORT = 12870  # netperf's data connection, pinned with `-- -P ,PORT` so DNAT can match it


def _dummy_ip(i: int) -> str:
    """A distinct, never-used address in 10.96.100.0-10.96.255.255 for rule i."""
    return f"10.96.{100 + i // 250}.{i % 250 + 1}"


def forward_rules(count: int, *, conntrack: bool = False) -> str:
    """FORWARD chain with `count` non-matching kube-proxy-like rules (and optionally a ctstate rule,
    which turns conntrack on in the namespace, as kube-proxy's rules do)."""
    lines = ["*filter", "-F FORWARD"]
    if conntrack:
        lines.append("-A FORWARD -m conntrack --ctstate INVALID -j DROP")
    lines += [f"-A FORWARD -d {_dummy_ip(i)}/32 -p tcp -m tcp --dport 80 -j DROP" for i in range(count)]
    return "\n".join([*lines, "COMMIT", ""])


def services(
    count: int, *, backend: str = POD_B.ipv4, ports: tuple[int, ...] = (12865, SERVICE_DATA_PORT)
) -> str:
    """nat table: PREROUTING -> KUBE-SERVICES with `count` other services first, then the ClusterIP's
    DNAT to `backend` on each of `ports` (netperf control and data)."""
    lines = [
        "*nat",
        ":KUBE-SERVICES - [0:0]",
        "-F KUBE-SERVICES",
        "-F PREROUTING",
        "-A PREROUTING -j KUBE-SERVICES",
    ]
    lines += [
        f"-A KUBE-SERVICES -d {_dummy_ip(i)}/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.200.2.99:80"
        for i in range(count)
    ]
    lines += [
        f"-A KUBE-SERVICES -d {CLUSTER_IP}/32 -p tcp -m tcp --dport {port} -j DNAT --to-destination {backend}:{port}"
        for port in ports
    ]
    return "\n".join([*lines, "COMMIT", ""])


def notrack(cidr: str = "10.200.0.0/16") -> str:
    """raw table: skip conntrack for pod-to-pod traffic (what Cilium's bypass achieves)."""
    return f"*raw\n-F PREROUTING\n-A PREROUTING -s {cidr} -d {cidr} -j CT --notrack\nCOMMIT\n"


def load(netns: str, text: str) -> None:
    """Apply an iptables-restore text in one of our namespaces without flushing other tables."""
    shell.run(shell.in_netns(netns, ["iptables-restore", "--noflush"]), stdin=text, timeout=120)


def load_services(netns: str, count: int) -> None:
    """Install `count` services plus the ClusterIP in one of our namespaces."""
    load(netns, services(count))


def clear(netns: str, table: str, chain: str) -> None:
    """Flush one chain in one of our namespaces."""
    shell.run(shell.in_netns(netns, ["iptables", "-w", "-t", table, "-F", chain]))


def count(netns: str, table: str, chain: str) -> int:
    """Number of rules in one chain (to verify an arm really changed the datapath)."""
    out = shell.run(shell.in_netns(netns, ["iptables", "-w", "-t", table, "-S", chain]))
    return sum(1 for line in out.splitlines() if line.startswith("-A "))
