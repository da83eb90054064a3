"""The catalogue's data, part 2: items 08-15 (Hubble, MTU, Bandwidth Manager, BBR, XDP, map sizing,
the kernel, host tuning) and the summary.

One record per item, no logic. Read by `items`. Facts and thresholds come from
reference/cilium-tuning.md (A.1, A.2, A.3, C, D); every threshold carries its source URL. Config
looks name logical settings of `cilium_lab.cilium.settings`, read with the node's Cilium version.
"""

from cilium_lab.catalog import sources as src
from cilium_lab.catalog.datapath_items import KPR_KERNEL, NEEDS_KPR
from cilium_lab.catalog.model import (
    RESTART_AGENTS,
    RESTART_NODE,
    RESTART_PODS,
    Check,
    CiliumAtLeast,
    DeviceMtuAtLeast,
    Item,
    ItemEnabled,
    KernelAtLeast,
    NicDriverIn,
    Param,
    in_config,
    in_facts,
    in_host,
    in_status,
)
from cilium_lab.kernel import PREEMPT_NONE_OR_VOLUNTARY

JUMBO_MTU = 9000
# The MTU lab 09 sets: at least IPv6's minimum link MTU (RFC 8200 section 5: 1280), at most the largest
# IPv4 packet (RFC 791: a 16-bit total length, 65535); the NIC's own max MTU is checked per node.
MTU = Param("mtu", "the jumbo MTU the underlay carries", JUMBO_MTU, kind=int, low=1280, high=65535)
# Lab 08 measures Hubble's cost with it off, then switches it back on unless told to keep it off.
KEEP_DISABLED = Param(
    "keep_disabled", "leave Hubble off after measuring; by default it is switched back on", False, kind=bool
)
# Lab 15's tuned profile (`change.host.plan_host` takes any tuned profile name).
PROFILE = Param(
    "profile", "tuned profile to apply: network-latency or network-throughput", "network-latency", form="name"
)

HUBBLE_OVERHEAD = Item(
    id="hubble-overhead",
    number=8,
    title="Hubble overhead (and why to keep it)",
    lab="08-hubble-overhead",
    summary="Measure what flow visibility costs (the guide says 1-15%), tune its event queue and rate "
    "limits first, and switch Hubble off only where the cost matters more than the visibility.",
    targets={"hubble": False},
    options=(KEEP_DISABLED,),
    restart=(RESTART_AGENTS,),
    verify=(Check("Hubble off", (in_status("hubble", "Disabled"), in_config("hubble", False))),),
    caveats=(
        "Without Hubble there is no flow visibility for troubleshooting and network policy work.",
        "Try first: a larger hubble.eventQueueSize, bpf.events.monitorInterval, event rate limits, "
        "bpf.events.trace.enabled=false.",
    ),
    sources=(src.TUNING_GUIDE,),
)

JUMBO_FRAMES = Item(
    id="jumbo-mtu",
    number=9,
    title="Jumbo-frame MTU",
    lab="09-jumbo-mtu",
    summary="Carry 9000-byte frames on the underlay so each packet moves six times the payload; Cilium "
    "picks the device MTU up by itself.",
    targets={"mtu": MTU},
    requires=(DeviceMtuAtLeast(JUMBO_MTU, "jumbo frames on the node's device", src.TUNING_GUIDE),),
    restart=(RESTART_AGENTS, RESTART_PODS),
    # What the node runs (cilium_host's MTU) decides; cilium-config only when the agent was not read. A
    # value above the device's max MTU is not in effect: the NIC cannot carry those frames.
    verify=(
        Check(
            "jumbo MTU",
            (
                in_facts("pod_mtu", at_least=JUMBO_MTU, within="max_mtu"),
                in_config("mtu", at_least=JUMBO_MTU, within="max_mtu"),
                in_facts("mtu", at_least=JUMBO_MTU, within="max_mtu"),
            ),
        ),
    ),
    caveats=(
        "Every hop of the underlay (NICs, switches, gateways) must carry jumbo frames; only the node's "
        "device is visible here.",
        "Auto-detection can pick the minimum over all devices or the wrong NIC (issues #10309, #14339).",
        "Pod MTUs are set at pod creation: existing pods must be re-created (PR #4323).",
        "No status line shows the MTU: read cilium_host's MTU on the node (cilium-config when it cannot be read).",
        "Tunnel mode subtracts the encapsulation overhead (50 bytes for VXLAN).",
    ),
    sources=(src.TUNING_GUIDE, src.ISSUE_MTU_WRONG_DEVICE, src.ISSUE_MTU_PER_ROUTE, src.PR_MTU_REDEPLOY),
)

BANDWIDTH_MANAGER = Item(
    id="bandwidth-manager",
    number=10,
    title="Bandwidth Manager",
    lab="10-bandwidth-manager",
    summary="EDT rate limiting in eBPF with fq qdiscs and server-grade sysctls on the external devices: "
    "lower tail latency than HTB, and the basis for BBR.",
    targets={"bandwidth_manager": True},
    requires=(KernelAtLeast(("5.1",), "EDT and fq pacing", src.TUNING_GUIDE_1_14), NEEDS_KPR),
    restart=(RESTART_AGENTS,),
    verify=(
        Check(
            "Bandwidth Manager",
            (in_status("bandwidth_manager", True), in_config("bandwidth_manager", True)),
        ),
    ),
    caveats=(
        "Strongly recommended together with BPF host routing, to avoid high latency.",
        "Only TCP benefits from EDT pacing (issue #17246).",
        "Pods with bandwidth annotations must be re-created to be limited.",
    ),
    sources=(src.BANDWIDTH_MANAGER, src.TUNING_GUIDE_1_14, src.CILIUM_1_9_BLOG, src.ISSUE_EDT_TCP_ONLY),
)

BBR = Item(
    id="bbr",
    number=11,
    title="BBR congestion control for pods",
    lab="11-bbr",
    summary="Pods use BBR instead of CUBIC, paced by the Bandwidth Manager's fq: higher throughput and "
    "lower queueing on lossy or long paths.",
    targets={"bandwidth_manager": True, "bbr": True},
    requires=(
        KernelAtLeast(("5.18",), "skb timestamps kept across network namespaces", src.TUNING_GUIDE),
        CiliumAtLeast("1.12", "BBR for pods arrived in 1.12", src.PR_BBR),
        ItemEnabled("bandwidth-manager", "Bandwidth Manager", src.TUNING_GUIDE),
        ItemEnabled(
            "bpf-host-routing", "eBPF host routing keeps the socket up to the fq qdisc", src.TUNING_GUIDE
        ),
    ),
    restart=(RESTART_AGENTS, RESTART_PODS),
    # The congestion control is part of the BandwidthManager line: `Disabled` there answers "no BBR".
    verify=(
        Check(
            "BBR",
            (in_status("congestion_control", "BBR", line="bandwidth_manager"), in_config("bbr", True)),
        ),
    ),
    caveats=(
        "More TCP retransmissions and more aggressive behaviour towards CUBIC flows.",
        "Cilium cannot migrate existing sockets to BBR: restart the pods.",
        "The agent stops when BBR meets legacy host routing (every release since BBR arrived in 1.12; "
        "data/agent_rules.yaml); from 1.18 bbrHostNamespaceOnly (PR #38898) applies it to host-network pods only.",
    ),
    sources=(src.TUNING_GUIDE, src.BANDWIDTH_MANAGER, src.PR_BBR, src.PR_BBR_HOSTNS_ONLY),
)

# Native-XDP drivers from Cilium's table, as `ethtool -i` names them (thunderx -> nicvf, dpaa2 ->
# fsl_dpaa2_eth, mlx4 -> mlx4_en, mlx5 -> mlx5_core, tun/tap -> tun). Per-driver kernel minimums omitted.
XDP_DRIVERS = frozenset(
    {
        "ena", "bnxt_en", "nicvf", "fsl_dpaa2_eth", "ice", "ixgbe", "ixgbevf", "i40e", "mvneta",
        "mlx4_en", "mlx5_core", "hv_netvsc", "nfp", "qede", "sfc", "netsec", "cpsw", "virtio_net", "tun",
    }
)  # fmt: skip

XDP_ACCELERATION = Item(
    id="xdp-acceleration",
    number=12,
    title="XDP acceleration for NodePort and LoadBalancer",
    lab="12-xdp-acceleration",
    summary="Handle NodePort, LoadBalancer and externalIPs traffic with a remote backend at the driver "
    "layer, before the kernel allocates an skb.",
    targets={"xdp_acceleration": "native"},
    requires=(
        KPR_KERNEL,
        NicDriverIn(XDP_DRIVERS, "a native-XDP driver on every selected device", src.XDP_DRIVERS),
        NEEDS_KPR,
    ),
    restart=(RESTART_AGENTS,),
    verify=(
        Check(
            "native XDP",
            (in_status("xdp_acceleration", "Native"), in_config("xdp_acceleration", "native")),
        ),
    ),
    caveats=(
        "In native mode an attach failure stops the agent (issues #22970, #12105); 'best-effort' (1.15+, "
        "PR #28666) skips unsupported devices.",
        "virtio_net has constraints (e.g. 'XDP expects header/data in single page', issue #12105).",
        "Agent restarts can disrupt XDP traffic (issue #13869).",
        "The 1.13/1.14 guides also ask for direct routing.",
    ),
    sources=(
        src.XDP_DRIVERS,
        src.TUNING_GUIDE,
        src.PR_XDP_BEST_EFFORT,
        src.ISSUE_XDP_VIRTIO,
        src.ISSUE_XDP_FATAL,
        src.ISSUE_XDP_RESTART_DISRUPTION,
    ),
)

MAP_SIZING = Item(
    id="map-sizing",
    number=13,
    title="eBPF map sizing",
    lab="13-map-sizing",
    summary="Size the connection-tracking, NAT and policy maps from a larger share of memory (ratio 0.08 "
    "in the latest guide, default 0.0025) so busy nodes do not run out of entries.",
    targets={"map_dynamic_size_ratio": 0.08},
    restart=(RESTART_AGENTS,),
    verify=(
        Check(
            "map size ratio >= 0.08",
            (
                in_status("map_dynamic_size_ratio", at_least=0.08),  # verbose status only
                in_config("map_dynamic_size_ratio", at_least=0.08),
            ),
        ),
    ),
    caveats=(
        "Changing CT sizes disrupts tracking of ongoing connections at the next agent start (reply "
        "packets may be dropped).",
        "Larger maps use more memory on every node.",
    ),
    sources=(src.TUNING_GUIDE, src.MAP_LIMITS),
)

KERNEL = Item(
    id="kernel",
    number=14,
    title="Kernel: upgrade, CONFIG_PREEMPT_NONE",
    lab="14-kernel",
    summary="A recent LTS kernel unlocks BPF host routing (5.10), BBR (5.18), BIG TCP (5.19 / 6.3) and "
    "netkit (6.8); the guide recommends CONFIG_PREEMPT_NONE for server workloads.",
    restart=(RESTART_NODE,),
    verify=(
        Check("kernel >= 6.8 (every item's threshold)", (in_facts("kernel", at_least="6.8"),)),
        Check("no forced preemption", (in_facts("preemption", PREEMPT_NONE_OR_VOLUNTARY),)),
    ),
    caveats=(
        "A node OS change, not a Cilium setting: drain, upgrade, reboot one node at a time.",
        "uname -v cannot tell PREEMPT_NONE from PREEMPT_VOLUNTARY; PREEMPT_DYNAMIC kernels choose at boot.",
    ),
    sources=(src.TUNING_GUIDE, src.BENCHMARK),
)

HOST_TUNING = Item(
    id="host-tuning",
    number=15,
    title="Host: tuned profile, CPU governor, irqbalance and IRQ pinning",
    lab="15-host-tuning",
    options=(PROFILE,),
    summary="The guide's further considerations: a network tuned profile, the performance CPU governor, "
    "and NIC interrupts pinned instead of moved around by irqbalance.",
    verify=(
        Check("tuned profile", (in_host("tuned_profile", "network-latency", "network-throughput"),)),
        Check("CPU governor", (in_host("cpu_governor", "performance"),)),
        Check("irqbalance stopped", (in_host("irqbalance", "inactive", "failed", "unknown"),)),
    ),
    caveats=(
        "Needs root on the node; nothing here persists across reboots unless the OS is configured to.",
        "cpufreq is often missing on VMs.",
        "Pin NIC IRQs with a script such as set_irq_affinity (borkmann/netperf_scripts) or the NIC vendor's.",
    ),
    sources=(src.TUNING_GUIDE, src.NETPERF_SCRIPTS),
)

SUMMARY = Item(
    id="summary",
    number=99,
    title="Summary: the checklist and the performance journey",
    lab="99-summary",
    summary="What is enabled per node after the series, what stayed blocked and why, and the measurements "
    "of every step side by side.",
    sources=(src.SERIES, src.TUNING_GUIDE, src.BENCHMARK),
    kind="summary",
)

NODE_ITEMS = (
    HUBBLE_OVERHEAD,
    JUMBO_FRAMES,
    BANDWIDTH_MANAGER,
    BBR,
    XDP_ACCELERATION,
    MAP_SIZING,
    KERNEL,
    HOST_TUNING,
    SUMMARY,
)
