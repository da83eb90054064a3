"""The tuning settings as data: logical name -> cilium-config key and Helm value, per Cilium version.

Read by `cilium_lab.cilium.config` (translate/read), the catalogue and the change planner; calls only
`versions` and `cilium_lab.errors`. The logical names are the vocabulary shared with the catalogue.
Source of truth: reference cilium-tuning.md A.0 (renames), A.1 (rows 1-13 and the notes after the
table) and B.4 (keys exist only when the chart renders them). Versions 1.10-1.12 are best effort:
they use the 1.13 keys, which the reference says were unchanged since 1.9 unless noted.

A `Setting` has one or more `Era`s: from `since` on, the value lives under `key` (Helm `helm`),
spelled per `values` (logical -> ConfigMap string; "{name}" is filled from another setting's target
value), and reads back as `default` when the key is absent (the agent's built-in default).
Version gates compare whole versions, so a pre-release of X.Y.0 (1.16.0-pre.2) gets the rules of
the minor before it: the conservative choice, since features land during a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cilium_lab.cilium.versions import CiliumVersion

OLDEST = CiliumVersion.parse("1.10")  # older versions are refused: nothing here covers them
# CT/NAT map limits enforced by the agent: LimitTableMin/LimitTableMax in cilium/cilium pkg/option/config.go.
MAP_MIN, MAP_MAX = 1 << 10, 1 << 24


@dataclass(frozen=True)
class Era:
    """How one setting is stored from `since` on (until the next era of the same setting)."""

    since: str
    key: str
    helm: str
    default: object = None  # logical value when the key is absent; None = agent-derived / unknown
    values: dict[object, str] = field(default_factory=dict)  # logical -> ConfigMap text; empty = plain
    replaces: tuple[str, ...] = ()  # older keys deleted on write (they would conflict or linger)
    honours_replaced: bool = False  # the agent still reads the replaced key when this key is absent
    delete_when: object = None  # logical value written as "delete the key" (mtu 0 = auto-detect)
    only_if: tuple[str, object] | None = None  # (setting, value) the target must have for a write
    reads: dict[str, object] = field(default_factory=dict)  # other spellings the agent still accepts


@dataclass(frozen=True)
class Setting:
    """One tunable: its type, accepted values per version, and where it lives per version."""

    name: str
    kind: type
    eras: tuple[Era, ...]
    choices: tuple[str, ...] = ()
    choice_since: dict[str, str] = field(default_factory=dict)  # value -> first version accepting it
    since: str = "1.10"
    bounds: tuple[float, float] | None = None  # inclusive, for int; (exclusive low, inclusive high) float
    also_allowed: tuple[object, ...] = ()  # values outside `bounds` that mean something (mtu 0)
    source: str = ""

    def era(self, version: CiliumVersion) -> Era:
        """The era that applies to `version` (the caller has checked `since`)."""
        current = self.eras[0]
        for era in self.eras:
            if version >= CiliumVersion.parse(era.since):
                current = era
        return current

    def previous_era(self, era: Era) -> Era | None:
        index = self.eras.index(era)
        return self.eras[index - 1] if index else None


def _flag(name: str, key: str, helm: str, source: str, since: str = "1.10", default: bool = False) -> Setting:
    """A boolean "true"/"false" key that never changed name."""
    return Setting(name, bool, (Era(since, key, helm, default),), since=since, source=source)


def _count(name: str, key: str, helm: str, source: str) -> Setting:
    return Setting(name, int, (Era("1.10", key, helm),), bounds=(MAP_MIN, MAP_MAX), source=source)


_ROUTING_RENAME = "A.0 'Routing-mode rename' (PR #29053); A.1 row 1"
_KPR_RENAME = "A.0 'KPR value rename' (PR #26577, removal PR #31286); A.1 row 2"

SETTINGS: dict[str, Setting] = {
    setting.name: setting
    for setting in (
        Setting(
            "routing",
            str,
            (
                Era("1.10", "tunnel", "tunnel", "tunnel", {"native": "disabled", "tunnel": "{tunnel_protocol}"}),
                # 1.14 still honours `tunnel` (tunnel=disabled -> native) but refuses it next to routing-mode.
                Era("1.14", "routing-mode", "routingMode", "tunnel", replaces=("tunnel",), honours_replaced=True),
                Era("1.15", "routing-mode", "routingMode", "tunnel", replaces=("tunnel",)),  # tunnel removed
            ),
            choices=("native", "tunnel"),
            source=_ROUTING_RENAME,
        ),
        Setting(
            "tunnel_protocol",
            str,
            (
                Era("1.10", "tunnel", "tunnel", "vxlan", {"vxlan": "vxlan", "geneve": "geneve"}, only_if=("routing", "tunnel")),
                Era("1.14", "tunnel-protocol", "tunnelProtocol", "vxlan", honours_replaced=True),
                Era("1.15", "tunnel-protocol", "tunnelProtocol", "vxlan"),
            ),
            choices=("vxlan", "geneve"),
            source=_ROUTING_RENAME,
        ),
        # 1.10 charts may name it nativeRoutingCIDR / native-routing-cidr (unverified; best effort).
        Setting("native_routing_cidr", str, (Era("1.10", "ipv4-native-routing-cidr", "ipv4NativeRoutingCIDR"),), source="A.1 row 1"),
        _flag("auto_direct_node_routes", "auto-direct-node-routes", "autoDirectNodeRoutes", "A.1 row 1 (PR #15196)"),
        Setting(
            "kube_proxy_replacement",
            bool,
            (
                Era("1.10", "kube-proxy-replacement", "kubeProxyReplacement", False, {True: "strict", False: "disabled"},
                    reads={"partial": False, "probe": False}),
                # 1.14/1.15 still accept the deprecated spellings; 1.16 refuses them (read as unknown).
                Era("1.14", "kube-proxy-replacement", "kubeProxyReplacement", False, {True: "true", False: "false"},
                    reads={"strict": True, "partial": False, "disabled": False}),
                Era("1.16", "kube-proxy-replacement", "kubeProxyReplacement", False, {True: "true", False: "false"}),
            ),
            source=_KPR_RENAME,
        ),
        _flag("bpf_masquerade", "enable-bpf-masquerade", "bpf.masquerade", "A.1 row 3 (chart default false since 1.10)"),
        Setting(
            "lb_mode", str, (Era("1.10", "bpf-lb-mode", "loadBalancer.mode", "snat"),),
            choices=("snat", "dsr", "hybrid"), source="A.1 row 4",
        ),
        Setting(
            "dsr_dispatch", str, (Era("1.10", "bpf-lb-dsr-dispatch", "loadBalancer.dsrDispatch", "opt"),),
            choices=("opt", "ipip", "geneve"), choice_since={"geneve": "1.14"}, source="A.1 row 4 (PR #23890)",
        ),
        _flag("no_conntrack_iptables_rules", "install-no-conntrack-iptables-rules", "installNoConntrackIptablesRules", "A.1 row 5"),
        # 1.9-era charts used bpf.hostRouting (PR #14767); the rename release is unconfirmed.
        _flag("host_legacy_routing", "enable-host-legacy-routing", "bpf.hostLegacyRouting", "A.1 row 6"),
        _flag("ipv4_big_tcp", "enable-ipv4-big-tcp", "enableIPv4BIGTCP", "A.1 row 7 (PR #26172)", since="1.14"),
        _flag("ipv6_big_tcp", "enable-ipv6-big-tcp", "enableIPv6BIGTCP", "A.1 row 7 (PR #20349)", since="1.13"),
        # Absent key -> the agent flag default, false (daemon flag `enable-hubble`), whatever the chart says.
        _flag("hubble", "enable-hubble", "hubble.enabled", "A.1 row 8"),
        Setting(
            "mtu", int, (Era("1.10", "mtu", "MTU", 0, delete_when=0),),
            bounds=(1280, 65535), also_allowed=(0,), source="A.1 row 9 (only rendered when set; 0 = auto-detect)",
        ),
        _flag("bandwidth_manager", "enable-bandwidth-manager", "bandwidthManager.enabled", "A.1 row 10"),
        _flag("bbr", "enable-bbr", "bandwidthManager.bbr", "A.1 row 11 (PR #19287)", since="1.12"),
        _flag("bbr_hostns_only", "enable-bbr-hostns-only", "bandwidthManager.bbrHostNamespaceOnly", "A.1 row 11 (PR #38898)", since="1.18"),
        Setting(
            "xdp_acceleration", str, (Era("1.10", "bpf-lb-acceleration", "loadBalancer.acceleration", "disabled"),),
            choices=("disabled", "native", "best-effort"), choice_since={"best-effort": "1.15"},
            source="A.1 row 12 (best-effort: PR #28666)",
        ),
        Setting(
            "map_dynamic_size_ratio", float, (Era("1.10", "bpf-map-dynamic-size-ratio", "bpf.mapDynamicSizeRatio"),),
            bounds=(0.0, 1.0), source="A.1 row 13 (chart: ratio (0.0-1.0])",
        ),
        _count("ct_tcp_max", "bpf-ct-global-tcp-max", "bpf.ctTcpMax", "A.1 row 13"),
        _count("ct_any_max", "bpf-ct-global-any-max", "bpf.ctAnyMax", "A.1 row 13"),
        _count("nat_max", "bpf-nat-global-max", "bpf.natMax", "A.1 row 13"),
        _flag("bpf_clock_probe", "enable-bpf-clock-probe", "bpfClockProbe", "A.1 notes (bpfClockProbe)"),
        Setting(
            "datapath_mode", str, (Era("1.16", "datapath-mode", "bpf.datapathMode", "veth"),),
            choices=("veth", "netkit"), since="1.16", source="A.1 notes, A.2 netkit (1.16+)",
        ),
        # Added by PR #38037 (2025); cilium/cilium#39009 reports the key in use on 1.17.2.
        _flag("distributed_lru", "bpf-distributed-lru", "bpf.distributedLRU.enabled", "A.0 profile, A.1 row 13", since="1.17.2"),
    )
}  # fmt: skip
