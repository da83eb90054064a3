"""The agent's status response (`GET /healthz` payload) for one emulated node, as a JSON-shaped dict.

The text output and the `-o json`/`-o yaml` output both print this one model, as the real CLI prints its
StatusResponse. Field names follow cilium/cilium api/v1/models per version (reference B.2): `host-routing` up
to 1.15, `routing` from 1.16; no `ipv4-big-tcp` before 1.14; `attach-mode`/`datapath-mode` from 1.16. Booleans
are kept here even when false; the JSON printer drops them (omitempty).

Simulated, not measured: controller counts, Hubble flow counters, IPAM usage and timestamps are
plausible constants derived from the node, the same on every call.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.agent.startup_rules import Version, parse_version
from cilium_lab.sim.state.profiles import NodeProfile

# Build hashes seen in real outputs (reference B.3); other versions get a stable made-up one.
KNOWN_BUILDS = {
    "1.13.4": "4061cdfc",
    "1.14.1": "c191ef6f",
    "1.15.1": "a368c8f0",
    "1.16.5": "b7b9a3d2",
    "1.18.6": "95896696",
}
# The resources the agent watches, as "Kubernetes APIs:" lists them, per release line, from real outputs
# (tests/fixtures/status_lines): 1.10.4 and 1.13.4 (the EndpointSlice group follows the API server:
# discovery/v1beta1 before Kubernetes 1.21), 1.15.1 to 1.17.2, and 1.18.4/1.18.6. The 1.14 list is taken
# to be the 1.15 one (the 1.14.0-rc.0 output of cilium/cilium#26758 starts the same); 1.11/1.12 the 1.13
# one (real 1.12 outputs differ only by CiliumEndpointSlice, which the emulator never enables).
_K8S_APIS_113 = (
    "cilium/v2::CiliumClusterwideNetworkPolicy",
    "cilium/v2::CiliumEndpoint",
    "cilium/v2::CiliumNetworkPolicy",
    "cilium/v2::CiliumNode",
    "core/v1::Namespace",
    "core/v1::Node",
    "core/v1::Pods",
    "core/v1::Service",
    "discovery/v1::EndpointSlice",
    "networking.k8s.io/v1::NetworkPolicy",
)
_K8S_APIS_114 = (
    "EndpointSliceOrEndpoint",
    "cilium/v2::CiliumClusterwideNetworkPolicy",
    "cilium/v2::CiliumEndpoint",
    "cilium/v2::CiliumNetworkPolicy",
    "cilium/v2::CiliumNode",
    "cilium/v2alpha1::CiliumCIDRGroup",
    "core/v1::Namespace",
    "core/v1::Pods",
    "core/v1::Service",
    "networking.k8s.io/v1::NetworkPolicy",
)
_K8S_APIS_118 = (
    "EndpointSliceOrEndpoint",
    "cilium/v2::CiliumCIDRGroup",
    "cilium/v2::CiliumClusterwideNetworkPolicy",
    "cilium/v2::CiliumEndpoint",
    "cilium/v2::CiliumNetworkPolicy",
    "cilium/v2::CiliumNode",
    "core/v1::Pods",
    "networking.k8s.io/v1::NetworkPolicy",
)
CONTROLLERS = 29  # a fresh 1.13 agent with a few endpoints reports about this many


def build(
    dp: Datapath, node: NodeProfile, version: str, config: dict[str, str], kubernetes_version: str, now: str
) -> dict[str, Any]:
    """The status model for `dp` on `node` under agent `version` at virtual time `now` (RFC 3339)."""
    v = parse_version(version)
    model: dict[str, Any] = {
        "kvstore": _kvstore(v, node, config),
        "kubernetes": _kubernetes(kubernetes_version, node, v, config),
        "kube-proxy-replacement": _kpr(dp, node, v),
        "cilium": {"state": "Ok", "msg": f"{version} ({build_tag(version)})"},
        "nodeMonitor": {"cpus": node.cpus, "npages": 64, "pagesize": 4096},
        "cluster": {"ciliumHealth": {"state": "Ok"}},
        "ipam": {"status": _ipam(node, config)},
        "bandwidth-manager": _bandwidth(dp, node),
        "masquerading": _masquerading(dp, config),
        "controllers": _controllers(now),
        "proxy": _proxy(node, v, config),
        "hubble": _hubble(dp, node, config),
        "bpf-maps": {"dynamic-size-ratio": dp.map_size_ratio, "maps": _bpf_maps(dp, node, v, config)},
        "clock-source": {"mode": dp.clock_source, "hertz": int(node.host.get("hz", "250"))},
        "encryption": _encryption(node, config),
    }
    model.update(_version_specific(dp, v, config))
    return model


def build_tag(version: str) -> str:
    digest = KNOWN_BUILDS.get(version) or hashlib.sha1(version.encode()).hexdigest()[:8]
    return f"v{version}-{digest}"


def pod_ip(node: NodeProfile, host: int) -> str:
    base = node.pod_cidr.split("/")[0].rsplit(".", 1)[0]
    return f"{base}.{host}"


def _kvstore(v: Version, node: NodeProfile, config: dict[str, str]) -> dict[str, Any]:
    if config.get("kvstore") == "etcd":
        return {"state": "Ok", "msg": _etcd_status(v, node, config)}
    # Without a kvstore the state reads "Ok" with the message "Disabled" up to 1.16 (every real output
    # of tests/fixtures/status_lines up to 1.15.6; still so in the 1.17.0-dev build of PR 35542); from
    # the 1.17 release the state itself is "Disabled" with no message (1.17.2, cilium/cilium#23517).
    return {"state": "Disabled", "msg": ""} if v >= (1, 17) else {"state": "Ok", "msg": "Disabled"}


ETCD_SERVER_VERSION = "3.5.0"  # the emulated cluster's etcd; a real one reports its own


def _etcd_status(v: Version, node: NodeProfile, config: dict[str, str]) -> str:
    """The etcd client's status line: one endpoint, reachable, with quorum and the leader role.

    Formats from pkg/kvstore/etcd.go (statusChecker and determineEndpointStatus): lease IDs in hex up
    to 1.13 (the real 1.13.4 output of cilium/cilium#27045), lease counts from the lease manager of
    1.14 ("leases=%d, lock leases=%d"). The address is the "etcd.address" of kvstore-opt, else the
    address the chart's etcd.endpoints defaults to.
    """
    try:
        opts = json.loads(config.get("kvstore-opt") or "{}")
    except json.JSONDecodeError:
        opts = {}
    address = opts.get("etcd.address", "https://CHANGE-ME:2379") if isinstance(opts, dict) else ""
    endpoint = f"{address} - {ETCD_SERVER_VERSION} (Leader)"
    if v >= (1, 14):
        return f"etcd: 1/1 connected, leases=1, lock leases=1, has-quorum=true: {endpoint}"
    lease = int(hashlib.sha1(node.name.encode()).hexdigest()[:15], 16)
    return (
        f"etcd: 1/1 connected, lease-ID={lease:x}, lock lease-ID={lease + 2:x}, has-quorum=true: {endpoint}"
    )


def _encryption(node: NodeProfile, config: dict[str, str]) -> dict[str, Any]:
    if config.get("enable-wireguard") != "true":
        return {"mode": "Disabled"}
    # One interface, cilium_wg0, on the agent's fixed UDP port 51871; the key pair is the node's own
    # (a stand-in derived from its name); the peers are the other nodes, counted by the text renderer,
    # which knows the cluster (the JSON form omits the zero count). As in a real 1.14.0 output (ruzickap/ruzickap.github.io,
    # _posts/2023/2023-08-03-cilium-amazon-eks.md @2b74686d).
    key = base64.b64encode(hashlib.sha256(node.name.encode()).digest()).decode()
    on = config.get("encrypt-node") == "true"
    return {
        "mode": "Wireguard",
        "wireguard": {
            "node-encryption": "Enabled" if on else "Disabled",
            "interfaces": [{"name": "cilium_wg0", "public-key": key, "listen-port": 51871, "peer-count": 0}],
        },
    }


def _kubernetes(
    kubernetes_version: str, node: NodeProfile, v: Version, config: dict[str, str]
) -> dict[str, Any]:
    short = ".".join(kubernetes_version.lstrip("v").split(".")[:2])
    if v >= (1, 18):
        apis = _K8S_APIS_118
    elif v >= (1, 14):
        apis = _K8S_APIS_114
    else:
        minor = int(short.split(".")[1]) if "." in short else 99
        group = "discovery/v1beta1" if minor < 21 else "discovery/v1"
        apis = tuple(a.replace("discovery/v1", group) for a in _K8S_APIS_113)
    if config.get("kvstore") == "etcd":
        # once connected to the kvstore the agent stops its CiliumEndpoint and CiliumNode watchers and
        # drops both from the list (pkg/k8s/watchers cilium_endpoint.go and cilium_node.go, "Connected
        # to key-value store, stopping ... watcher"); neither is in the real 1.13.4 output of #27045
        apis = tuple(a for a in apis if a not in ("cilium/v2::CiliumEndpoint", "cilium/v2::CiliumNode"))
    return {
        "state": "Ok",
        "msg": f"{short} ({kubernetes_version}) [linux/{node.arch}]",
        "k8s-api-versions": list(apis),
    }


def _kpr(dp: Datapath, node: NodeProfile, v: Version) -> dict[str, Any]:
    nic = node.nic
    np = {
        "enabled": dp.kpr,
        "mode": dp.lb_mode.upper() if dp.lb_mode != "hybrid" else "Hybrid",
        "algorithm": "Random",
        "acceleration": {"disabled": "None", "native": "Native", "generic": "Generic"}.get(
            dp.xdp, "Best-Effort"
        ),
        "portMin": 30000,
        "portMax": 32767,
    }
    if dp.dsr_dispatch:
        np["dsrMode"] = {"opt": "IP Option/Extension", "ipip": "IPIP", "geneve": "Geneve"}[dp.dsr_dispatch]
    features = {
        "nodePort": np,
        "socketLB": {"enabled": dp.kpr},
        "sessionAffinity": {"enabled": dp.kpr},
        "hostPort": {"enabled": dp.kpr},
        "externalIPs": {"enabled": dp.kpr},
        # EnableK8sTerminatingEndpoint defaults to true whatever KPR does: "Graceful Termination: Enabled"
        # with KPR disabled in the real 1.13.4 --verbose output (littlejo/cilium-eks-cookbook)
        "gracefulTermination": {"enabled": True},
        "nat46X64": {},
    }
    listed = dp.kpr or v >= (1, 15) or dp.bandwidth_manager  # devices are detected when something needs them
    return {
        "mode": dp.kpr_mode,
        "devices": [nic.name] if listed else [],
        "deviceList": [{"name": nic.name, "ip": _device_ips(node, v)}] if listed else [],
        "directRoutingDevice": nic.name if listed and not _no_direct_routing(dp, v) else "",
        "features": features,
    }


def _bpf_maps(dp: Datapath, node: NodeProfile, v: Version, config: dict[str, str]) -> list[dict[str, Any]]:
    """The "BPF Maps" table of --verbose: the agent's own list, which changes between releases."""
    if v >= (1, 16):  # not checked against a real output of these releases: the emulator's own list
        return [{"name": k, "size": s} for k, s in dp.map_sizes.items()]
    sizes = dp.map_sizes
    lb = int(config.get("bpf-lb-map-max") or 65536)
    policy = int(config.get("bpf-policy-map-max") or 16384)
    if v >= (1, 14):
        # The 1.14/1.15 list as the real 1.15.0-rc.1 --verbose output prints it (BurlyLuo/wcni-kind
        # @d578d07d, .../1-cilium-KPR/1-native-routing/cilium-status.verbose; a 1.14 output in the code
        # index lists the same): the Auth map of mutual authentication first, one masquerading map per
        # family, no per-CPU Events/Signal nor Sockmap rows.
        table = [
            ("Auth", 524288),
            ("Non-TCP connection tracking", sizes["Non-TCP connection tracking"]),
            ("TCP connection tracking", sizes["TCP connection tracking"]),
            ("Endpoint policy", 65535),
            ("IP cache", 512000),
            ("IPv4 masquerading agent", 16384),
            ("IPv6 masquerading agent", 16384),
            ("IPv4 fragmentation", sizes["IPv4 fragmentation"]),
        ]
    else:
        # The 1.13 list, names, order and fixed sizes as the real 1.13.4 --verbose output prints them
        # (littlejo/cilium-eks-cookbook install-cilium-eks-helm.md); "Events" and "Signal" have one
        # entry per CPU; the sized ones follow the agent's map sizing.
        table = [
            ("Non-TCP connection tracking", sizes["Non-TCP connection tracking"]),
            ("TCP connection tracking", sizes["TCP connection tracking"]),
            ("Endpoint policy", 65535),
            ("Events", node.cpus),
            ("IP cache", 512000),
            ("IP masquerading agent", 16384),
            ("IPv4 fragmentation", sizes["IPv4 fragmentation"]),
        ]
    table += [
        ("IPv4 service", lb),
        ("IPv6 service", lb),
        ("IPv4 service backend", lb),
        ("IPv6 service backend", lb),
        ("IPv4 service reverse NAT", lb),
        ("IPv6 service reverse NAT", lb),
        ("Metrics", 1024),
        ("NAT", sizes["NAT"]),
        ("Neighbor table", sizes["Neighbor table"]),
        ("Global policy", policy),
    ]
    if v < (1, 14):
        table.append(("Per endpoint policy", 65536))
    table.append(("Session affinity", lb))
    if v < (1, 14):
        table += [("Signal", node.cpus), ("Sockmap", 65535)]
    table += [("Sock reverse NAT", sizes["Sock reverse NAT"]), ("Tunnel", 65536)]
    return [{"name": name, "size": size} for name, size in table]


def _cni_file(extra: dict[str, Any], v: Version, config: dict[str, str]) -> None:
    """The "CNI Config file" status: what the agent did with the CNI configuration (1.13+).

    The agent writes it when write-cni-conf-when-ready is set. The 1.13 chart leaves that unset and the
    agent says so ("CNI configuration file management disabled", real 1.13.0/1.13.4 outputs); from 1.14
    an agent that writes none reports nothing (real 1.14.0 output, littlejo/cilium-networkpolicy-hubble;
    1.15.1, cilium/cilium#30910, #32065), while one that writes reports the file (1.15.6 #33669, 1.16.5,
    1.17.2 #23517, 1.18.4); installs write it by default from 1.15.
    Where the emulated ConfigMap does not say, a chained install is taken to leave the file to the other
    plugin.
    """
    chained = extra["cni-chaining"]["mode"] != "none"
    # 1.14 installs leave the key unset too: five real 1.14.0-1.14.5 outputs have no such line
    default = "" if v < (1, 15) or chained else "/host/etc/cni/net.d/05-cilium.conflist"
    path = config.get("write-cni-conf-when-ready", default)
    if path:
        extra["cni-file"] = {"path": path, "msg": f"successfully wrote CNI configuration file to {path}"}
    elif v < (1, 14):
        extra["cni-file"] = {"msg": "CNI configuration file management disabled"}


def _no_direct_routing(dp: Datapath, v: Version) -> bool:
    """Whether the agent names no direct-routing device: in tunnel mode from 1.12 to 1.14 (real 1.14.0
    kind output, littlejo/cilium-networkpolicy-hubble: "Strict   [eth0 172.18.0.3]"), while 1.10.4 in
    tunnel mode (cilium/cilium#17461) and 1.15.1 in tunnel mode (#32065) print "(Direct Routing)", as
    every native-routing output does (1.13.4 EKS, littlejo/cilium-eks-cookbook)."""
    return (1, 12) <= v < (1, 15) and dp.routing == "tunnel"


def _device_ips(node: NodeProfile, v: Version) -> list[str]:
    """The device's addresses as the agent reports them.

    Up to 1.14 the agent lists the NodePort IPv4 address (daemon/cmd/status.go
    getKubeProxyReplacementStatus, node.GetNodePortIPv4AddrsWithDevices). From 1.15 it lists every
    address of the device, after as many empty strings (`IP: make([]string, len(dev.Addrs))`, then
    `append`), which is why the real outputs print one more space after the name than the device has
    addresses: "[enp0s4  10.4.1.6" (#30910), "[ens3   192.168.44.37 fe80::..." (#32065).
    """
    if v < (1, 15):
        return [node.internal_ip]
    addrs = [node.internal_ip] + ([node.nic.ipv6_global] if node.nic.ipv6_global else [])
    # IPv4, then the global IPv6, then the link-local one: "[eth0    172.18.0.2 fc00:f853:ccd:e793::2
    # fe80::42:acff:fe12:2" in a real 1.15.0-rc.1 output (BurlyLuo/wcni-kind, kind with IPv6)
    addrs += [_link_local(node.nic.mac)] if node.nic.ipv6_link_local else []
    return [""] * len(addrs) + addrs


def _link_local(mac: str) -> str:
    """The fe80:: address the kernel derives from the MAC (modified EUI-64, RFC 4291 appendix A)."""
    b = [int(x, 16) for x in mac.split(":")]
    eui = [b[0] ^ 0x02, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]]
    groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups)


def _bandwidth(dp: Datapath, node: NodeProfile) -> dict[str, Any]:
    if not dp.bandwidth_manager:
        return {"enabled": False}
    return {"enabled": True, "congestionControl": dp.congestion, "devices": [node.nic.name]}


def _masquerading(dp: Datapath, config: dict[str, str]) -> dict[str, Any]:
    cidr = config.get("ipv4-native-routing-cidr") or config.get("cluster-pool-ipv4-cidr", "")
    on = dp.masquerade != "disabled"
    return {
        "enabled": on,
        "enabledProtocols": {"ipv4": on, "ipv6": False},
        "mode": "BPF" if dp.masquerade == "bpf" else "iptables",
        "snat-exclusion-cidr-v4": cidr,
        "snat-exclusion-cidr": cidr,
    }


def _controllers(now: str) -> list[dict[str, Any]]:
    names = ["cilium-health-ep", "sync-endpoints-and-host-ips", "ipcache-inject-labels", "k8s-heartbeat"]
    names += [f"endpoint-{100 + i}-regeneration-recovery" for i in range(CONTROLLERS - len(names))]
    zero = "0001-01-01T00:00:00.000Z"
    return [
        {
            "name": name,
            "status": {
                "success-count": 10,
                "last-success-timestamp": now,
                "last-failure-timestamp": zero,
                "consecutive-failure-count": 0,
            },
        }
        for name in sorted(names)
    ]


def _ipam(node: NodeProfile, config: dict[str, str]) -> str:
    # In ENI mode the pool is the node's ENI addresses, with no CIDR (real 1.13.4 EKS outputs,
    # littlejo/cilium-eks-cookbook); the cluster-pool and kubernetes modes name the node's pod CIDR.
    if config.get("ipam") == "eni":
        return "IPv4: 5/15 allocated, "
    return f"IPv4: 5/254 allocated from {node.pod_cidr}, "


def _proxy(node: NodeProfile, v: Version, config: dict[str, str]) -> dict[str, Any] | None:
    if config.get("enable-l7-proxy", "true") == "false":
        return None  # "Proxy Status: No managed proxy redirect" (real 1.18.4 output with l7Proxy=false)
    # the proxy listens on the router (cilium_host) address: "Proxy Status: OK, ip 192.168.28.58" with
    # "192.168.28.58 (router)" among the allocations of the real 1.13.4 --verbose output
    proxy = {"ip": pod_ip(node, 1), "port-range": "10000-20000", "total-redirects": 0}
    if v >= (1, 14):
        # the chart runs Envoy as its own DaemonSet by default from 1.16 (external-envoy-proxy);
        # an install that keeps it in the agent reports "embedded" (real 1.18.6 kind output)
        external = config.get("external-envoy-proxy", "true" if v >= (1, 16) else "false") == "true"
        proxy["envoy-deployment-mode"] = "external" if external else "embedded"
    return proxy


def _hubble(dp: Datapath, node: NodeProfile, config: dict[str, str]) -> dict[str, Any]:
    if not dp.hubble:
        return {"state": "Disabled"}
    seed = int(hashlib.sha1(node.name.encode()).hexdigest()[:6], 16)
    uptime_s = 3600
    seen = uptime_s * (8 + seed % 700 / 100)  # about 8-15 flows/s on an idle node
    return {
        "state": "Ok",
        "observer": {
            "current-flows": 4095,
            "max-flows": 4095,
            "seen-flows": int(seen),
            "uptime": uptime_s * 10**9,
        },
        # the metrics server runs when metrics are configured (chart: hubble.metrics.enabled)
        "metrics": {"state": "Ok" if config.get("hubble-metrics", "").strip() else "Disabled"},
    }


def _version_specific(dp: Datapath, v: Version, config: dict[str, str]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if v >= (1, 11):  # "Host firewall:" is absent from the real 1.10.4 output (cilium/cilium#17371)
        extra["host-firewall"] = {"mode": "Disabled"}
    if v >= (1, 12):
        # CNI chaining status came with PR 18345 (1.12; real 1.12.2 and 1.12.13 outputs print it,
        # cilium/cilium#21651, #27995); the identity range line is in 1.12.13 (#27995's label width)
        # and absent from 1.10.4 (#17371) and the 1.11 development build of PR 17165.
        chaining = config.get("cni-chaining-mode") or "none"
        extra["cni-chaining"] = {"mode": chaining}
        extra["identity-range"] = {"min-identity": 256, "max-identity": 65535}
    if v >= (1, 13):
        extra["ipv6-big-tcp"] = {"enabled": dp.ipv6_big_tcp}
    if v >= (1, 14):
        for family in ("ipv4", "ipv6"):
            on = getattr(dp, f"{family}_big_tcp")
            size = dp.big_tcp_size if on else 65536
            extra[f"{family}-big-tcp"] = {"enabled": on, "maxGRO": size, "maxGSO": size}
    if v >= (1, 13):
        _cni_file(extra, v, config)
    if v >= (1, 15):
        extra["srv6"] = {"enabled": False}
    host = "BPF" if dp.host_routing == "bpf" else "Legacy"
    if v >= (1, 16):
        extra["routing"] = {
            "inter-host-routing-mode": "Native" if dp.routing == "native" else "Tunnel",
            "intra-host-routing-mode": host,
            "tunnel-protocol": dp.tunnel_protocol or "",
        }
        extra["attach-mode"] = dp.attach_mode
        extra["datapath-mode"] = dp.device_mode
    else:
        extra["host-routing"] = {"mode": host}
    return extra
