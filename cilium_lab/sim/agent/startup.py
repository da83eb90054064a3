"""The emulated Cilium agent's start: from cilium-config, the node and the version to a `Datapath`.

Input: the node's effective cilium-config (ConfigMap merged with CiliumNodeConfig overrides). The
start-up steps run in the real agent's order; `startup_rules` derives routing, KPR, masquerading, load balancing and host routing, this
module the performance features (BIG TCP, Bandwidth Manager/BBR, XDP, MTU, map sizes, clock, device
mode). Every fallback, log line and fatal error comes from the table in data/agent_rules.yaml
(`rule_table`); a stopped agent's log ends with the line that version's agent ends it with.

Simplifications: the agent starts instantly; one device per node; the chart's rendering of keys is
the caller's business (a key absent from the config means the agent's default).
"""

from __future__ import annotations

from cilium_lab.sim.agent import rule_table, startup_rules
from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.agent.runtime import Boot
from cilium_lab.sim.agent.startup_rules import Draft, Fatal, parse_version
from cilium_lab.sim.state.profiles import NodeProfile

SUPPORTED = (
    (1, 10),
    (1, 20),
)  # status formats and rules known from ref B.1 (1.13+) and code read for 1.10-1.12
TUNNEL_OVERHEAD = {"vxlan": 50, "geneve": 50}  # ref A.1 row 9


def start(version: str, config: dict[str, str], node: NodeProfile) -> tuple[Draft, Fatal | None]:
    """Run the start-up steps in order; the draft so far and, if the agent stopped, why."""
    v = parse_version(version)
    d = Draft(version=v, config=dict(config), node=node, kernel=startup_rules.kernel_version(node))
    d.log.append(rule_table.log_line(v, "info", f"Cilium {version.lstrip('v')}"))
    d.fields["device_mode"] = d.value("datapath-mode")
    try:
        rule_table.apply(d, "kernel")
        for step in STEPS:
            step(d)
    except Fatal as fatal:
        return d, fatal
    return d, None


def boot(version: str, config: dict[str, str], node: NodeProfile) -> Boot:
    """Start an agent of `version` on `node` with `config`; the Boot says what it runs or why it died."""
    v = parse_version(version)
    if not SUPPORTED[0] <= v[:2] <= SUPPORTED[1]:
        # An image tag outside the emulated range: the pod crash-loops with a message that says so.
        message = (
            f"the embedded cluster emulates Cilium 1.10 to 1.20, not {version}: use an image in that range"
        )
        return Boot(
            ok=False, datapath=None, log=(f'level=fatal msg="{message}" subsys=daemon',), error=message
        )
    d, fatal = start(version, config, node)
    if fatal is not None:
        return Boot(ok=False, datapath=None, log=(*d.log, fatal.line), error=str(fatal))
    d.log.append(rule_table.log_line(v, "info", "Daemon initialization completed"))
    return Boot(ok=True, datapath=Datapath(**d.fields, notes=tuple(d.notes)), log=tuple(d.log))


def derive_big_tcp(d: Draft) -> None:
    """IPv6 BIG TCP (1.13+) and IPv4 (1.14+), asked for by their keys; the table decides (PR #20349)."""
    d.fields["ipv6_big_tcp"] = d.version >= (1, 13) and d.flag("enable-ipv6-big-tcp")
    d.fields["ipv4_big_tcp"] = d.version >= (1, 14) and d.flag("enable-ipv4-big-tcp")
    rule_table.apply(d, "big_tcp")
    if d.fields["ipv4_big_tcp"] or d.fields["ipv6_big_tcp"]:
        d.fields["big_tcp_size"] = startup_rules.BIG_TCP_SIZE


def derive_bandwidth(d: Draft) -> None:
    """Bandwidth Manager and BBR for pods (1.12+); kernel and host-routing needs are table rows (ref D.8)."""
    d.fields["bandwidth_manager"] = d.flag("enable-bandwidth-manager")
    rule_table.apply(d, "bandwidth")
    bbr_for_pods = d.flag("enable-bbr") and not (d.version >= (1, 18) and d.flag("enable-bbr-hostns-only"))
    if d.fields["bandwidth_manager"] and d.version >= (1, 12) and bbr_for_pods:
        d.fields["congestion"] = "bbr"


def derive_xdp(d: Draft) -> None:
    """NodePort XDP acceleration (ref A.1 row 12, D.6): the mode asked for, where BPF NodePort runs."""
    mode = d.value("bpf-lb-acceleration")
    d.fields["xdp"] = mode if d.nodeport and mode != "disabled" else "disabled"
    rule_table.apply(d, "xdp")


def derive_mtu(d: Draft) -> None:
    """Device MTU auto-detected from the NIC unless `mtu` is a positive number; tunnels subtract 50."""
    raw = (d.config.get("mtu") or "").strip()
    device_mtu = int(raw) if raw.isdigit() and int(raw) > 0 else d.node.nic.mtu
    overhead = TUNNEL_OVERHEAD.get(d.fields.get("tunnel_protocol") or "", 0)
    d.fields.update(device_mtu=device_mtu, mtu=device_mtu - overhead)
    # emulator notes on what the network does with that MTU (no agent log line)
    if device_mtu > d.node.nic.max_mtu:
        d.notes.append(
            f"(no agent log line) mtu {device_mtu} exceeds {d.node.nic.name} max_mtu {d.node.nic.max_mtu}: "
            "large frames are dropped"
        )
    elif device_mtu > d.node.underlay_mtu:
        d.notes.append(
            f"(no agent log line) mtu {device_mtu} exceeds the underlay MTU {d.node.underlay_mtu}: "
            "fragmentation and drops"
        )


# (status name, config key that overrides, share of the TCP CT default) in the order status prints them
MAP_TABLE = (
    ("Non-TCP connection tracking", "bpf-ct-global-any-max", "any"),
    ("TCP connection tracking", "bpf-ct-global-tcp-max", "tcp"),
    ("Endpoint policy", "bpf-policy-map-max", 16384),
    ("IP cache", None, 512000),
    ("IPv4 masquerading agent", None, 16384),
    ("IPv4 fragmentation", "bpf-fragments-map-max", 8192),
    ("IPv4 service", "bpf-lb-map-max", 65536),
    ("IPv4 service backend", "bpf-lb-map-max", 65536),
    ("IPv4 service reverse NAT", "bpf-lb-map-max", 65536),
    ("Metrics", None, 1024),
    ("NAT", "bpf-nat-global-max", "nat"),
    ("Neighbor table", "bpf-neigh-global-max", "tcp"),
    ("Global policy", None, 16384),
    ("Session affinity", "bpf-lb-map-max", 65536),
    ("Sock reverse NAT", "bpf-sock-rev-map-max", "sock_rev"),
    ("Tunnel", None, 65536),
)


def derive_maps(d: Draft) -> None:
    """Dynamic map sizing (the table's `map_sizing`): entries = memory x ratio / bytes per entry,
    clamped; keys set explicitly win; without a ratio the fixed defaults hold (ref A.1 row 13)."""
    sizing = rule_table.load().map_sizing
    try:
        ratio = float(d.value("bpf-map-dynamic-size-ratio") or 0)
    except ValueError:
        ratio = 0.0  # viper reads an unparsable float as 0: dynamic sizing off
    ceiling = sizing["ceiling"]
    if 0 < ratio <= 1:
        available = int(d.node.memory_gib * (1 << 30) * ratio)
        tcp = available // sizing["bytes_per_tcp_entry"]
        dynamic = {
            "tcp": min(max(tcp, sizing["tcp_floor"]), ceiling),
            "any": min(max(tcp // 2, sizing["any_floor"]), ceiling),
            "nat": min(max(tcp, sizing["nat_floor"]), ceiling),
            "sock_rev": min(max(tcp // 2, sizing["sock_rev_floor"]), ceiling),
        }
    else:
        fixed = sizing["defaults_without_ratio"]
        dynamic = {"tcp": fixed["tcp"], "any": fixed["any"], "nat": fixed["tcp"], "sock_rev": fixed["any"]}
    sizes = {}
    for name, key, default in MAP_TABLE:
        value = dynamic[default] if isinstance(default, str) else default
        explicit = d.config.get(key) if key else None
        sizes[name] = int(explicit) if explicit and explicit.isdigit() else value
    d.fields.update(map_size_ratio=ratio, map_sizes=sizes)
    rule_table.apply(d, "maps")


def derive_clock_and_devices(d: Draft) -> None:
    """Clock source (enable-bpf-clock-probe), device mode (veth; netkit from 1.16) and attach mode."""
    if d.flag("enable-bpf-clock-probe") and d.kernel >= (5, 5, 0):  # bpf_jiffies64 helper
        d.fields["clock_source"] = "jiffies"
    rule_table.apply(d, "devices")
    tcx = (
        d.version >= (1, 16)
        and (d.config.get("enable-tcx") or "true").lower() == "true"
        and d.kernel >= (6, 6, 0)
    )
    d.fields["attach_mode"] = "tcx" if tcx else "tc"


def derive_hubble(d: Draft) -> None:
    d.fields["hubble"] = d.flag("enable-hubble")
    rule_table.apply(d, "hubble")


STEPS = (
    derive_maps,  # the agent sizes its maps while it parses options, before anything else
    startup_rules.derive_routing,
    startup_rules.derive_masquerade_request,
    startup_rules.derive_kpr,
    startup_rules.derive_lb_mode,
    startup_rules.derive_host_routing,
    startup_rules.derive_masquerade,
    derive_big_tcp,
    derive_bandwidth,
    derive_xdp,
    derive_mtu,
    derive_clock_and_devices,
    derive_hubble,
)
