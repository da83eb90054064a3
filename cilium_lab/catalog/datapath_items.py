"""The catalogue's data, part 1: the overview and the datapath items 01-07 (routing, kube-proxy
replacement, masquerading, DSR, conntrack bypass, BPF host routing, BIG TCP).

One record per item, no logic. Read by `items`. Facts and thresholds come from
reference/cilium-tuning.md (A.1, A.2, A.3, D); every threshold carries its source URL.
Target settings and config looks use the logical names of `cilium_lab.cilium.settings`, which knows
each version's cilium-config keys and spellings; verify looks read `CiliumStatus` attributes first.
"""

from cilium_lab.catalog import sources as src
from cilium_lab.catalog.model import (
    DEMONSTRATE,
    RESTART_AGENTS,
    RESTART_PODS,
    Check,
    CiliumAtLeast,
    Item,
    ItemEnabled,
    KernelAtLeast,
    NicDriverIn,
    Param,
    in_config,
    in_status,
)

# Kernel for BPF NodePort / socket LB, which KPR, BPF masquerading, the conntrack bypass and XDP need:
# 4.19.57 in the 4.19 series, 5.1.16 in 5.1, or 5.2+ (reference A.1 rows 2, 5, 12; A.2).
KPR_KERNEL = KernelAtLeast(("4.19.57", "5.1.16", "5.2"), "BPF NodePort and socket LB", src.PR_KPR_KERNEL)

NEEDS_KPR = ItemEnabled("kube-proxy-replacement", "eBPF kube-proxy replacement", src.TUNING_GUIDE)
NEEDS_BPF_MASQ = ItemEnabled("bpf-masquerade", "eBPF masquerading", src.TUNING_GUIDE)
NEEDS_NATIVE = ItemEnabled("native-routing", "direct routing, no tunnel", src.TUNING_GUIDE)

KPR_ON = Check(
    "kube-proxy replacement",
    (in_status("kpr_full", True), in_config("kube_proxy_replacement", True)),
)
BPF_MASQ_ON = Check(
    "eBPF masquerading", (in_status("masquerading", "BPF"), in_config("bpf_masquerade", True))
)

OVERVIEW = Item(
    id="overview",
    number=0,
    title="Cluster overview and tuning scorecard",
    lab="00-overview",
    summary="What the cluster runs, per node: kernel, NIC driver, Cilium version and datapath, and which "
    "tuning items are enabled, can be enabled, or are blocked and why.",
    sources=(src.SERIES, src.SERIES_DEFAULTS, src.TUNING_GUIDE),
    kind="overview",
)

NATIVE_ROUTING = Item(
    id="native-routing",
    number=1,
    title="Native routing instead of a VXLAN/Geneve tunnel",
    lab="01-native-routing",
    summary="Route pod traffic on the underlay instead of encapsulating it: no 50-byte VXLAN overhead, "
    "a larger pod MTU, and the precondition for DSR, the conntrack bypass and BIG TCP.",
    targets={
        "routing": "native",
        "auto_direct_node_routes": True,
        "native_routing_cidr": Param(
            "pod_cidr", "the pod CIDR the underlay routes; empty: read from cilium-config", form="cidr"
        ),
    },
    restart=(RESTART_AGENTS, RESTART_PODS),
    verify=(
        Check(
            "native routing",
            (
                in_status("routing_network", "Native"),  # 1.16+ only (PR #32036)
                # `tunnel: disabled` up to 1.13 (honoured on 1.14), `routing-mode: native` from 1.14 (PR #29053)
                in_config("routing", "native"),
            ),
        ),
    ),
    caveats=(
        "The underlay must route pod CIDRs: autoDirectNodeRoutes works only when all nodes share one L2 "
        "segment; otherwise use BGP or cloud routes.",
        "autoDirectNodeRoutes together with tunnelling is a fatal agent error (PR #15196).",
        "Existing pod connections are disrupted; the Tuning Guide says datapath changes need Pod or even "
        "node restarts.",
        "The '(Direct Routing)' tag on the KubeProxyReplacement status line is no proof of native routing: "
        "it shows in tunnel mode too (issues #17461, #32065).",
        "The current chart fails with routingMode=native and IPv4 masquerading unless ipv4NativeRoutingCIDR is set.",
    ),
    sources=(src.ROUTING, src.TUNING_GUIDE, src.PR_TUNNEL_REMOVED, src.PR_AUTO_ROUTES_WITH_TUNNEL),
)

KUBE_PROXY_REPLACEMENT = Item(
    id="kube-proxy-replacement",
    number=2,
    title="Full kube-proxy replacement",
    lab="02-kube-proxy-replacement",
    summary="Let Cilium's eBPF programs handle Services (ClusterIP, NodePort, LoadBalancer) instead of "
    "kube-proxy's iptables rules.",
    targets={"kube_proxy_replacement": True},
    requires=(KPR_KERNEL,),
    restart=(RESTART_AGENTS,),
    verify=(KPR_ON,),
    caveats=(
        "The agents must reach the API server without kube-proxy: set k8sServiceHost and k8sServicePort.",
        "On K3s the built-in kube-proxy has to be disabled (server flag --disable-kube-proxy) and its "
        "leftover iptables rules cleaned up.",
        "1.13 spells the value 'strict'; 1.14 adds true/false; the old values are gone in 1.16 (PR #31286).",
    ),
    sources=(src.KUBEPROXY_FREE, src.PR_KPR_KERNEL, src.PR_KPR_VALUES_REMOVED),
)

BPF_MASQUERADE = Item(
    id="bpf-masquerade",
    number=3,
    title="eBPF masquerading",
    lab="03-bpf-masquerade",
    summary="Masquerade pod traffic leaving the node in eBPF instead of iptables; a prerequisite for BPF "
    "host routing.",
    targets={"bpf_masquerade": True},
    requires=(KPR_KERNEL, NEEDS_KPR),
    restart=(RESTART_AGENTS,),
    verify=(BPF_MASQ_ON,),
    caveats=(
        "With iptables masquerading the agent forces legacy host routing (PR #13330).",
        "The chart default for new installs has been false since 1.10.",
    ),
    sources=(src.MASQUERADING, src.TUNING_GUIDE, src.PR_HOST_ROUTING_FALLBACK),
)

NODEPORT_DSR = Item(
    id="nodeport-dsr",
    number=4,
    title="NodePort direct server return (DSR)",
    lab="04-nodeport-dsr",
    summary="Backends answer NodePort clients directly instead of back through the node that took the "
    "request: one hop and one SNAT less.",
    targets={"lb_mode": "dsr"},
    requires=(NEEDS_KPR, NEEDS_NATIVE),
    restart=(RESTART_AGENTS,),
    verify=(Check("DSR NodePort mode", (in_status("nodeport_mode", "DSR"), in_config("lb_mode", "dsr"))),),
    caveats=(
        "DSR needs native routing; from 1.14 it also works in tunnel mode with tunnelProtocol=geneve and "
        "dsrDispatch=geneve, never with VXLAN (PR #23890, issue #26339).",
        'A geneve dispatch without a geneve tunnel is fatal: \'Node Port "dsr" mode with geneve dispatch '
        "requires geneve tunnel protocol.' (issue #30845).",
        "IP-option dispatch can be dropped by cloud fabrics or routers.",
        "The NodePort mode shows only in verbose status (KubeProxyReplacement Details).",
    ),
    sources=(
        src.KUBEPROXY_FREE,
        src.PR_DSR_NATIVE_ONLY,
        src.PR_DSR_GENEVE,
        src.ISSUE_DSR_DOCS,
        src.ISSUE_DSR_GENEVE_FATAL,
    ),
)

BYPASS_IPTABLES_CONNTRACK = Item(
    id="bypass-iptables-conntrack",
    number=5,
    title="Bypass iptables connection tracking",
    lab="05-bypass-iptables-conntrack",
    summary="Install NOTRACK rules so pod traffic skips netfilter's connection tracking: the series' step "
    "for nodes that cannot take BPF host routing.",
    targets={"no_conntrack_iptables_rules": True},
    requires=(KPR_KERNEL, NEEDS_NATIVE, NEEDS_KPR, NEEDS_BPF_MASQ),
    restart=(RESTART_AGENTS,),
    verify=(
        # No status line shows it (reference A.1 row 5): only the config, or the raw-table NOTRACK rules.
        Check("no-conntrack iptables rules", (in_config("no_conntrack_iptables_rules", True),)),
    ),
    caveats=(
        "Only matters where BPF host routing cannot be used; with BPF host routing traffic already bypasses iptables.",
        "The guide allows eBPF masquerading or no masquerading at all; this catalogue asks for eBPF masquerading.",
        "The chart forces it off with Azure, ENI, GKE and CNI chaining.",
        "Verified from cilium-config only: check `iptables -t raw -S` for the CILIUM_* NOTRACK rules too.",
    ),
    sources=(src.TUNING_GUIDE, src.BENCHMARK),
    moot_when="bpf-host-routing",
)

BPF_HOST_ROUTING = Item(
    id="bpf-host-routing",
    number=6,
    title="BPF host routing",
    lab="06-bpf-host-routing",
    summary="Route pod traffic in eBPF (bpf_redirect_neigh/peer) past the host's iptables and upper stack: "
    "about twice the single-stream throughput and 3x the request rate in the 1.9 release measurements.",
    targets={"host_legacy_routing": False},
    requires=(
        KernelAtLeast(("5.10",), "bpf_redirect_neigh/peer", src.TUNING_GUIDE),
        NEEDS_KPR,
        NEEDS_BPF_MASQ,
    ),
    restart=(RESTART_AGENTS, RESTART_PODS),
    verify=(Check("BPF host routing", (in_status("host_routing", "BPF"),)),),
    caveats=(
        "Enabled automatically when possible; the agent silently falls back to Legacy (kernel < 5.10, "
        "iptables masquerading, KPR off, IPsec before PR #41997, CNI chaining) (PR #13330, PR #44041).",
        "Status shows the configuration, not whether packets take the path.",
        "In tunnel mode VXLAN traffic still passes netfilter (issue #16280).",
        "New pods take the fast path; restart existing pods.",
    ),
    sources=(
        src.TUNING_GUIDE,
        src.CILIUM_1_9_BLOG,
        src.PR_HOST_ROUTING_FALLBACK,
        src.PR_HOST_ROUTING_KPR_LOG,
        src.PR_ROUTING_STATUS_LINE,
    ),
    fallback="bypass-iptables-conntrack",
    options=(DEMONSTRATE,),
)

# NICs the guide lists for BIG TCP, as `ethtool -i` names them: mlx4 -> mlx4_en, mlx5 -> mlx5_core, ice.
BIG_TCP_DRIVERS = frozenset({"mlx4_en", "mlx5_core", "ice"})

BIG_TCP = Item(
    id="big-tcp",
    number=7,
    title="BIG TCP (IPv6 and IPv4)",
    lab="07-big-tcp",
    summary="Raise GSO/GRO sizes from 64k to 192k so the stack handles fewer, bigger packets; no MTU change.",
    targets={"ipv6_big_tcp": True, "ipv4_big_tcp": True},
    requires=(
        KernelAtLeast(
            ("5.19",),
            "GSO/GRO above 64k for IPv6",
            src.TUNING_GUIDE,
            setting="ipv6_big_tcp",
            what="IPv6 BIG TCP",
        ),
        KernelAtLeast(
            ("6.3",),
            "GSO/GRO above 64k for IPv4",
            src.PR_IPV4_BIG_TCP,
            setting="ipv4_big_tcp",
            what="IPv4 BIG TCP",
        ),
        CiliumAtLeast(
            "1.14",
            "the option arrived in 1.14",
            src.PR_IPV4_BIG_TCP,
            setting="ipv4_big_tcp",
            what="IPv4 BIG TCP",
        ),
        CiliumAtLeast(
            "1.13",
            "the option arrived in 1.13",
            src.PR_IPV6_BIG_TCP,
            setting="ipv6_big_tcp",
            what="IPv6 BIG TCP",
        ),
        NicDriverIn(BIG_TCP_DRIVERS, "a NIC that supports BIG TCP (mlx4, mlx5, ice)", src.TUNING_GUIDE),
        ItemEnabled("bpf-host-routing", "eBPF host routing", src.TUNING_GUIDE),
        ItemEnabled("native-routing", "tunnelling disabled", src.TUNING_GUIDE),
    ),
    restart=(RESTART_AGENTS, RESTART_PODS),
    verify=(
        Check(
            "IPv6 BIG TCP",
            (in_status("ipv6_big_tcp", True), in_config("ipv6_big_tcp", True)),
            "ipv6_big_tcp",
        ),
        Check(
            "IPv4 BIG TCP",
            (in_status("ipv4_big_tcp", True), in_config("ipv4_big_tcp", True)),
            "ipv4_big_tcp",
        ),
    ),
    caveats=(
        "If any external device cannot be tuned the agent reverts to the defaults (PR #20349).",
        "Fails when the node IP is on a dummy or virtual interface (issue #24539).",
        "Tunnelling and encryption must be off.",
        "Pods must be restarted after toggling it.",
        "The IP family must be enabled too (ipv6.enabled / ipv4.enabled).",
    ),
    sources=(
        src.TUNING_GUIDE,
        src.PR_IPV6_BIG_TCP,
        src.PR_IPV4_BIG_TCP,
        src.ISSUE_BIG_TCP_DUMMY_DEVICE,
        src.BIG_TCP_LAB,
    ),
)

DATAPATH_ITEMS = (
    OVERVIEW,
    NATIVE_ROUTING,
    KUBE_PROXY_REPLACEMENT,
    BPF_MASQUERADE,
    NODEPORT_DSR,
    BYPASS_IPTABLES_CONNTRACK,
    BPF_HOST_ROUTING,
    BIG_TCP,
)
