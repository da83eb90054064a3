"""The emulated Cilium agent's start: from cilium-config, the node and the version to a `Datapath`.

Input: the node's effective cilium-config (ConfigMap merged with CiliumNodeConfig overrides). The rules in
`startup_rules` decide routing, KPR, masquerading, load-balancer mode, host routing and the conntrack bypass;
this module derives the performance features itself (BIG TCP, Bandwidth Manager/BBR, XDP, MTU, map sizes,
clock, device mode). A rule Cilium enforces with a fatal error makes `Boot.ok` False with that message; a rule
it enforces by falling back logs the line the real agent logs (see `startup_rules` for which are approximate).

Simplifications: the agent starts instantly; one device per node; the chart's rendering of keys is
the caller's business (a key absent from the config means the agent's default).
"""

from __future__ import annotations

from cilium_lab.sim.agent import startup_rules
from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.agent.runtime import Boot
from cilium_lab.sim.agent.startup_rules import Draft, Fatal, parse_version
from cilium_lab.sim.state.profiles import NodeProfile

SUPPORTED = (
    (1, 10),
    (1, 20),
)  # status formats and rules known from ref B.1 (1.13+) and code read for 1.10-1.12
TUNNEL_OVERHEAD = {"vxlan": 50, "geneve": 50}  # ref A.1 row 9


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
    d = Draft(version=v, config=dict(config), node=node, kernel=startup_rules.kernel_version(node))
    d.log.append(f'level=info msg="Cilium {version.lstrip("v")}" subsys=daemon')
    try:
        for step in STEPS:
            step(d)
    except Fatal as fatal:
        d.log.append(f'level=fatal msg="{startup_rules.quote(str(fatal))}" subsys=daemon')
        return Boot(ok=False, datapath=None, log=tuple(d.log), error=str(fatal))
    d.log.append('level=info msg="Daemon initialization completed" subsys=daemon')
    return Boot(ok=True, datapath=Datapath(**d.fields, notes=tuple(d.notes)), log=tuple(d.log))


def derive_big_tcp(d: Draft) -> None:
    """IPv6 BIG TCP (1.13+, kernel 5.19) and IPv4 (1.14+, kernel 6.3); reverts to defaults (PR #20349)."""
    wanted = {
        "IPv6": d.version >= (1, 13) and d.flag("enable-ipv6-big-tcp") and d.flag("enable-ipv6"),
        "IPv4": d.version >= (1, 14)
        and d.flag("enable-ipv4-big-tcp")
        and d.flag("enable-ipv4", default=True),
    }
    min_kernel = {"IPv6": (5, 19, 0), "IPv4": (6, 3, 0)}
    for family, on in wanted.items():
        reason = None
        if not on:
            continue
        if d.kernel < min_kernel[family]:
            reason = f"kernel {'.'.join(map(str, min_kernel[family][:2]))} or newer is required"
        elif d.fields["routing"] == "tunnel":
            reason = "tunneling is enabled"
        elif d.fields["host_routing"] != "bpf":
            reason = "BPF host routing is not enabled"
        elif not d.node.nic.big_tcp:
            reason = (
                f"device {d.node.nic.name} ({d.node.nic.driver}) does not support GSO/GRO sizes above 64k"
            )
        if reason:
            d.warn(f"Cannot enable {family} BIG TCP: {reason}; reverting to default GSO/GRO size (approx.)")
            continue
        d.fields[f"{family.lower()}_big_tcp"] = True
        d.fields["big_tcp_size"] = startup_rules.BIG_TCP_SIZE


def derive_bandwidth(d: Draft) -> None:
    """Bandwidth Manager (kernel 5.1) and BBR for pods (1.12+, kernel 5.18, BPF host routing; ref D.8)."""
    if not d.flag("enable-bandwidth-manager"):
        return
    if d.kernel < (5, 1, 0):
        d.warn("BPF bandwidth manager needs kernel 5.1 or newer. Disabling the feature.")
        return
    d.fields["bandwidth_manager"] = True
    if d.version < (1, 12) or not d.flag("enable-bbr"):
        return
    if d.kernel < (5, 18, 0):
        raise Fatal("BPF bandwidth manager's BBR setup requires kernel 5.18 or newer. (approx.)")
    if d.fields["host_routing"] != "bpf" and not d.flag("enable-bbr-hostns-only"):
        if d.version >= (1, 18):
            # Recent releases refuse BBR with legacy host routing; escape hatch enable-bbr-hostns-only
            # (PR #38898, 1.18; ref A.1 row 11, D.8).
            raise Fatal(
                "BBR for Pods requires BPF host routing (enable-host-legacy-routing=false). (approx.)"
            )
        d.silent("BBR with legacy host routing: pods lose the skb timestamp at the netns switch, no pacing")
    d.fields["congestion"] = "bbr"


def derive_xdp(d: Draft) -> None:
    """NodePort XDP acceleration: native needs a native-XDP driver (ref A.1 row 12, D.6)."""
    mode = (d.config.get("bpf-lb-acceleration") or "disabled").lower()
    allowed = ("disabled", "native", "generic") + (("best-effort",) if d.version >= (1, 15) else ())
    if mode not in allowed:
        raise Fatal(f"Invalid value for --bpf-lb-acceleration: {mode}")  # kube_proxy_replacement.go
    if mode == "disabled" or not d.nodeport:
        return
    if d.fields["routing"] == "tunnel" and d.version < (1, 15):
        key = "--tunnel=disabled" if d.version < (1, 14) else "--routing-mode=native"
        raise Fatal(
            "Cannot use NodePort acceleration with tunneling. Either run cilium-agent with "
            f"--bpf-lb-acceleration=disabled or {key}"
        )
    nic = d.node.nic
    if mode == "native" and not nic.xdp_native:
        raise Fatal(f"attaching XDP program to interface {nic.name}: operation not supported")  # #22970
    if mode == "best-effort" and not nic.xdp_native:
        d.info(f"Skipping XDP acceleration on {nic.name}: driver {nic.driver} has no native XDP (approx.)")
    d.fields["xdp"] = mode


def derive_mtu(d: Draft) -> None:
    """Device MTU auto-detected from the NIC unless `mtu` is set; tunnels subtract 50 (ref A.1 row 9)."""
    raw = d.config.get("mtu", "") or "0"
    if not raw.isdigit() or (int(raw) and not 1280 <= int(raw) <= 65535):
        raise Fatal(f"Invalid MTU value: {raw} (approx.)")
    device_mtu = int(raw) or d.node.nic.mtu
    overhead = TUNNEL_OVERHEAD.get(d.fields.get("tunnel_protocol") or "", 0)
    d.fields.update(device_mtu=device_mtu, mtu=device_mtu - overhead)
    if device_mtu > d.node.nic.max_mtu:
        d.silent(
            f"mtu {device_mtu} exceeds {d.node.nic.name} max_mtu {d.node.nic.max_mtu}: large frames are dropped"
        )
    elif device_mtu > d.node.underlay_mtu:
        d.silent(f"mtu {device_mtu} exceeds the underlay MTU {d.node.underlay_mtu}: fragmentation and drops")


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
    ("NAT", "bpf-nat-global-max", "tcp"),
    ("Neighbor table", "bpf-neigh-global-max", "tcp"),
    ("Global policy", None, 16384),
    ("Session affinity", "bpf-lb-map-max", 65536),
    ("Sock reverse NAT", "bpf-sock-rev-map-max", 65536),
    ("Tunnel", None, 65536),
)


def derive_maps(d: Draft) -> None:
    """Dynamic map sizing: entries scale with ratio x node memory (ref A.1 row 13).

    Cilium's calculateDynamicBPFMapSizes gives 66280 TCP CT entries per GiB at ratio 0.0025 (its code
    comment's table), non-TCP CT half of that, floors 131072 / 65536, ceiling 2^24; explicit keys win.
    """
    try:
        ratio = float(d.config.get("bpf-map-dynamic-size-ratio") or 0.0025)
    except ValueError as err:
        raise Fatal(f"Invalid value for --bpf-map-dynamic-size-ratio: {err}") from None
    tcp = int(66280 * d.node.memory_gib * ratio / 0.0025) if 0 < ratio <= 1 else 524288
    tcp = min(max(tcp, 131072), 1 << 24)
    dynamic = {"tcp": tcp, "any": min(max(tcp // 2, 65536), 1 << 24)}
    sizes = {}
    for name, key, default in MAP_TABLE:
        value = dynamic[default] if isinstance(default, str) else default
        explicit = d.config.get(key) if key else None
        sizes[name] = int(explicit) if explicit and explicit.isdigit() else value
    d.fields.update(map_size_ratio=ratio, map_sizes=sizes)


def derive_clock_and_devices(d: Draft) -> None:
    """Clock source (enable-bpf-clock-probe), device mode (netkit: 1.16+, kernel 6.8) and attach mode."""
    if d.flag("enable-bpf-clock-probe") and d.kernel >= (5, 5, 0):  # bpf_jiffies64 helper
        d.fields["clock_source"] = "jiffies"
    mode = (d.config.get("datapath-mode") or "veth").lower()
    if mode not in ("veth", "netkit", "netkit-l2") or (mode != "veth" and d.version < (1, 16)):
        raise Fatal("Invalid datapath mode")  # daemon_main.go before netkit existed
    if mode != "veth" and d.kernel < (6, 8, 0):
        raise Fatal(f"{mode} devices need kernel 6.8 or newer and CONFIG_NETKIT (approx.; ref A.2)")
    if mode != "veth" and d.fields["host_routing"] != "bpf":
        if d.version >= (1, 19):
            raise Fatal(
                "netkit devices require BPF host routing (enable-host-legacy-routing=false) (approx.; #44713)"
            )
        d.silent("netkit with legacy host routing: packets still go through the host stack")
    d.fields["device_mode"] = mode
    tcx = d.version >= (1, 16) and d.flag("enable-tcx", default=True) and d.kernel >= (6, 6, 0)
    d.fields["attach_mode"] = "tcx" if tcx else "tc"


def derive_hubble(d: Draft) -> None:
    d.fields["hubble"] = d.flag("enable-hubble")


STEPS = (
    startup_rules.derive_routing,
    startup_rules.derive_kpr,
    startup_rules.derive_masquerade,
    startup_rules.derive_lb_mode,
    startup_rules.derive_host_routing,
    startup_rules.derive_no_conntrack,
    derive_big_tcp,
    derive_bandwidth,
    derive_xdp,
    derive_mtu,
    derive_maps,
    derive_clock_and_devices,
    derive_hubble,
)
