"""`cilium-dbg status` (`cilium status` before 1.15) as the in-agent CLI prints it, per version.

Prints the status response of `status_response.build` for `cilium[-dbg] status [--verbose]`, aligned
by `go_tabwriter.align` as Go's tabwriter aligns it, so label runs of
spaces come out as the real CLI's do. Line order and formats follow FormatStatusResponse in
cilium/cilium pkg/client/client.go and the status command (reference B.1, B.3): "Host Routing:" up
to 1.15, "Routing: Network: ... Host: ..." from 1.16, IPv4 BIG TCP and sizes from 1.14, Socket LB
Tracing and Coverage from 1.13, DSR Dispatch Mode from 1.15, Attach/Device Mode and Modules Health
from 1.16. The lines are checked against real outputs of 1.10, 1.13, 1.14, 1.15, 1.16, 1.17 and 1.18
(tests/fixtures/status_lines; 1.13.4 also with --verbose and with an etcd kvstore; 1.14.0 with
WireGuard and the Bandwidth Manager on CUBIC; 1.15.0-rc.1 --verbose up to the BPF map table).

Independent of the status parser in cilium_lab.cilium (which is tested against this output).
Not checked against a real output, so approximations: the verbose blocks after 1.15 (the BPF map list
of 1.16+, the KPR details of 1.16+ without an "Annotations:" row, the per-node health details of
1.17+), the "Modules Health:" tree that --verbose prints from 1.15 (absent here), Modules Health
counts, the etcd line of 1.14+ (from the source, pkg/kvstore/etcd.go). Not modelled: the host
firewall, more than one device, IPsec.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cilium_lab.sim.agent import status_response
from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.agent.go_tabwriter import align
from cilium_lab.sim.agent.startup_rules import Version, parse_version
from cilium_lab.sim.state.profiles import NodeProfile


def render_text(
    dp: Datapath,
    node: NodeProfile,
    version: str,
    config: dict[str, str],
    *,
    verbose: bool = False,
    kubernetes_version: str = "v1.26.6+k3s1",
    cluster_nodes: int = 1,
    now: str = "2023-07-10T08:15:22Z",
    peers: Sequence[tuple[str, str]] = (),
) -> str:
    """The text of `cilium-dbg status [--verbose]` on `node`, ending with a newline.

    `peers` are the cluster's nodes as (name, InternalIP); --verbose lists them under "Cluster health:"
    (this node among them or not: it is listed first, as "(localhost)").
    """
    v = parse_version(version)
    sr = status_response.build(dp, node, version, config, kubernetes_version, now)
    lines = _head(sr, v) + (_addresses(node) if verbose else [])
    lines += _features(sr, v, verbose) + _tail(sr, v, verbose, cluster_nodes)
    lines += _health(v, cluster_nodes, now, _health_rows(node, peers) if verbose else [])
    return align("\n".join(lines) + "\n")


def _head(sr: dict[str, Any], v: Version) -> list[str]:
    k8s = sr["kubernetes"]
    out = [
        f"KVStore:\t{sr['kvstore']['state']}\t{sr['kvstore']['msg']}",
        f"Kubernetes:\t{k8s['state']}\t{k8s['msg']}",
        'Kubernetes APIs:\t["' + '", "'.join(sorted(k8s["k8s-api-versions"])) + '"]',
        f"KubeProxyReplacement:\t{sr['kube-proxy-replacement']['mode']}\t{_kpr_devices(sr, bracket=True)}",
    ]
    if "host-firewall" in sr:
        out.append(f"Host firewall:\t{sr['host-firewall']['mode']}")
    if "srv6" in sr:
        out.append("SRv6:\tDisabled")
    if "cni-chaining" in sr:
        out.append(f"CNI Chaining:\t{sr['cni-chaining']['mode']}")
    if "cni-file" in sr:
        out.append(f"CNI Config file:\t{sr['cni-file']['msg']}")
    nm = sr["nodeMonitor"]
    out += [
        f"Cilium:\t{sr['cilium']['state']}   {sr['cilium']['msg']}",
        f"NodeMonitor:\tListening for events on {nm['cpus']} CPUs with {nm['npages']}x{nm['pagesize']} of shared memory",
        f"Cilium health daemon:\t{sr['cluster']['ciliumHealth']['state']}\t",
        f"IPAM:\t{sr['ipam']['status']}",
    ]
    return out


def _addresses(node: NodeProfile) -> list[str]:
    owners = {
        1: "router",
        92: "health",
        17: "kube-system/coredns-59b4f5bbd5-7xkqv",
        23: "kube-system/hubble-relay",
    }
    rows = sorted(f"  {status_response.pod_ip(node, host)} ({owner})" for host, owner in owners.items())
    return ["Allocated addresses:", *rows]


def _kpr_devices(sr: dict[str, Any], bracket: bool) -> str:
    kpr = sr["kube-proxy-replacement"]
    # No device list while KPR is off: "Disabled" (FormatStatusResponse), and "False" in the real
    # 1.17.2 output (cilium/cilium#23517) although the agent still detects its devices.
    if kpr["mode"] in ("Disabled", "False") or not kpr["deviceList"]:
        return ""
    parts = []
    for dev in kpr["deviceList"]:
        # "%s %s" of the name and the joined addresses (FormatStatusResponse); the run of spaces in
        # 1.15+ outputs comes from the empty entries the agent puts before the addresses.
        text = f"{dev['name']} {' '.join(dev['ip'])}"
        parts.append(text + (" (Direct Routing)" if dev["name"] == kpr["directRoutingDevice"] else ""))
    joined = ", ".join(parts)
    return f"[{joined}]" if bracket else joined


def _features(sr: dict[str, Any], v: Version, verbose: bool) -> list[str]:
    out = []
    for family in ("ipv4", "ipv6"):
        big = sr.get(f"{family}-big-tcp")
        if big is not None:
            out.append(f"{family.replace('ip', 'IP')} BIG TCP:\t{_big_tcp(big)}")
    bw = sr["bandwidth-manager"]
    bw_text = (
        f"EDT with BPF [{bw['congestionControl'].upper()}] [{', '.join(bw['devices'])}]"
        if bw["enabled"]
        else "Disabled"
    )
    out.append(f"BandwidthManager:\t{bw_text}")
    if "routing" in sr:
        r = sr["routing"]
        network = r["inter-host-routing-mode"]
        if network == "Tunnel":
            network += f" [{r['tunnel-protocol']}]"
        out.append(f"Routing:\tNetwork: {network}\tHost: {r['intra-host-routing-mode']}")
        out.append(f"Attach Mode:\t{'TCX' if sr['attach-mode'] == 'tcx' else 'Legacy TC'}")
        out.append(f"Device Mode:\t{sr['datapath-mode']}")
    else:
        out.append(f"Host Routing:\t{sr['host-routing']['mode']}")
    out.append(f"Masquerading:\t{_masquerading(sr, v)}")
    if verbose:
        clock = sr["clock-source"]
        text = clock["mode"] if clock["mode"] != "jiffies" else f"jiffies\t[{clock['hertz']} Hz]"
        out.append(f"Clock Source for BPF:\t{text}")
    return out


def _big_tcp(big: dict[str, Any]) -> str:
    if not big["enabled"]:
        return "Disabled"
    if "maxGSO" not in big:  # 1.13 prints no sizes
        return "Enabled"
    sizes = f"[{big['maxGSO']}]" if big["maxGRO"] == big["maxGSO"] else f"[{big['maxGRO']}, {big['maxGSO']}]"
    return f"Enabled\t{sizes}"


def _masquerading(sr: dict[str, Any], v: Version) -> str:
    m = sr["masquerading"]
    protocols = m["enabledProtocols"]
    if not (protocols["ipv4"] or protocols["ipv6"]):
        return "Disabled"
    if m["mode"] == "BPF":
        devices = ", ".join(d["name"] for d in sr["kube-proxy-replacement"]["deviceList"])
        status = f"BPF\t[{devices}]\t{m['snat-exclusion-cidr-v4']}"
        if v >= (1, 18):
            # Two spaces before "[IPv4" (an empty IPv6 exclusion CIDR after the IPv4 one) in the real
            # 1.18.4 and 1.18.6 outputs. One space in every earlier real output (1.13.4; the 1.14
            # development build of cilium/cilium#25984; 1.15.1; 1.16.5; 1.17.6) and in
            # FormatStatusResponse of the 1.14/1.15 era (pkg/client/client.go @00c1fdc6, which prints
            # only SnatExclusionCidrV4), so not from v1.14.0 as reference B.1 has it.
            status += " "
    else:
        status = "IPTables"
    on = {True: "Enabled", False: "Disabled"}
    return f"{status} [IPv4: {on[protocols['ipv4']]}, IPv6: {on[protocols['ipv6']]}]"


def _tail(sr: dict[str, Any], v: Version, verbose: bool, cluster_nodes: int) -> list[str]:
    ctrls = sr["controllers"]
    out = [f"Controller Status:\t{len(ctrls)}/{len(ctrls)} healthy"]
    if verbose:
        rows = ["  Name\tLast success\tLast error\tCount\tMessage"]
        rows += [f"  {c['name']}\t10s ago\tnever\t0\tno error\t" for c in ctrls]
        out += align("\n".join(rows), minwidth=0).split("\n")
    p = sr["proxy"]
    if p is None:  # FormatStatusResponse, when the agent runs no L7 proxy
        out.append("Proxy Status:\tNo managed proxy redirect")
    else:
        envoy = f", Envoy: {p['envoy-deployment-mode']}" if "envoy-deployment-mode" in p else ""
        out.append(
            f"Proxy Status:\tOK, ip {p['ip']}, {p['total-redirects']} redirects active on ports "
            f"{p['port-range']}{envoy}"
        )
    if "identity-range" in sr:
        ir = sr["identity-range"]
        out.append(f"Global Identity Range:\tmin {ir['min-identity']}, max {ir['max-identity']}")
    out.append(_hubble(sr["hubble"]))
    if verbose:
        out += _kpr_details(sr, v) + _bpf_maps(sr["bpf-maps"])
    # A cell for the message follows the mode from 1.14, which widens the Hubble/Encryption/Cluster
    # health column ("Hubble:   Ok              Current/Max..." in the real 1.14 development, 1.15 and
    # later outputs); 1.10.4 (cilium/cilium#17371) and three real 1.13.0/1.13.4 outputs
    # (littlejo/cilium-eks-cookbook and others) print the mode alone ("Hubble:   Ok   Current/Max...").
    out.append(
        f"Encryption:\t{sr['encryption']['mode']}" + _encryption_details(sr["encryption"], v, cluster_nodes)
    )
    return out


def _encryption_details(enc: dict[str, Any], v: Version, cluster_nodes: int) -> str:
    wg = enc.get("wireguard")
    if wg is None:
        return "\t" if v >= (1, 14) else ""
    # "Wireguard       [NodeEncryption: Disabled, cilium_wg0 (Pubkey: ..., Port: 51871, Peers: 1)]"
    # in the real 1.14.0 output of a two-node cluster (ruzickap/ruzickap.github.io,
    # _posts/2023/2023-08-03-cilium-amazon-eks.md @2b74686d): every other node is a peer
    ifaces = ", ".join(
        f"{i['name']} (Pubkey: {i['public-key']}, Port: {i['listen-port']}, Peers: {max(cluster_nodes - 1, 0)})"
        for i in wg["interfaces"]
    )
    return f"\t[NodeEncryption: {wg['node-encryption']}, {ifaces}]"


def _hubble(h: dict[str, Any]) -> str:
    if h["state"] == "Disabled":
        return "Hubble:\tDisabled"
    o = h["observer"]
    flows = f"Current/Max Flows: {o['current-flows']}/{o['max-flows']} ({o['current-flows'] / o['max-flows'] * 100:.2f}%)"
    rate = f"Flows/s: {o['seen-flows'] / (o['uptime'] / 1e9):.2f}"
    return f"Hubble:\t{h['state']}\t{flows}, {rate}\tMetrics: {h['metrics']['state']}"


def _kpr_details(sr: dict[str, Any], v: Version) -> list[str]:
    kpr = sr["kube-proxy-replacement"]
    f, np = kpr["features"], kpr["features"]["nodePort"]
    on = {True: "Enabled", False: "Disabled"}
    rows = [f"  Status:\t{kpr['mode']}", f"  Socket LB:\t{on[f['socketLB']['enabled']]}"]
    if v >= (1, 13):
        # both lines are in the real 1.13.4 --verbose output (littlejo/cilium-eks-cookbook); tracing
        # follows socket LB (daemon/cmd/status.go getKubeProxyReplacementStatus)
        rows.append(f"  Socket LB Tracing:\t{on[f['socketLB']['enabled']]}")
        rows.append("  Socket LB Coverage:\tFull")
    devices = _kpr_devices(sr, bracket=False)
    if devices:
        rows.append(f"  Devices:\t{devices}")
    if np["enabled"]:
        rows.append(f"  Mode:\t{np['mode']}")
        if v >= (1, 15) and np["mode"] != "SNAT" and "dsrMode" in np:
            rows.append(f"    DSR Dispatch Mode:\t{np['dsrMode']}")
        rows.append(f"  Backend Selection:\t{np['algorithm']}")
    rows.append(f"  Session Affinity:\t{on[f['sessionAffinity']['enabled']]}")
    # printed by every version checked: the real 1.13.4 --verbose output, FormatStatusResponse of the
    # 1.14/1.15 era, and a real 1.17.6 (enterprise build) --verbose output in the code index
    rows.append(f"  Graceful Termination:\t{on[f['gracefulTermination']['enabled']]}")
    rows.append("  NAT46/64 Support:\tDisabled")
    if np["enabled"]:
        rows.append(
            f"  XDP Acceleration:\t{np['acceleration'] if np['acceleration'] != 'None' else 'Disabled'}"
        )
    nodeport = f"Enabled (Range: {np['portMin']}-{np['portMax']})" if np["enabled"] else "Disabled"
    rows += [
        "  Services:",
        "  - ClusterIP:\tEnabled",
        f"  - NodePort:\t{nodeport} ",
        f"  - LoadBalancer:\t{on[np['enabled']]} ",
        f"  - externalIPs:\t{on[f['externalIPs']['enabled']]} ",
        f"  - HostPort:\t{on[f['hostPort']['enabled']]}",
    ]
    return ["KubeProxyReplacement Details:", *align("\n".join(rows), minwidth=0).split("\n")]


def _bpf_maps(maps: dict[str, Any]) -> list[str]:
    ratio = maps["dynamic-size-ratio"]
    sizing = f"on (ratio: {ratio:f})" if 0.0 < ratio <= 1.0 else "off"
    rows = ["  Name\tSize"] + [f"  {m['name']}\t{m['size']}" for m in maps["maps"]]
    return [f"BPF Maps:\tdynamic sizing: {sizing}", *align("\n".join(rows), minwidth=0).split("\n")]


def _health_rows(node: NodeProfile, peers: Sequence[tuple[str, str]]) -> list[str]:
    others = sorted((name, ip) for name, ip in peers if name != node.name)
    rows = [(f"{node.name} (localhost)", node.internal_ip), *others]
    return [f"  {name}\t{ip}\treachable\treachable" for name, ip in rows]


def _health(v: Version, cluster_nodes: int, now: str, rows: list[str]) -> list[str]:
    line = f"Cluster health:\t{cluster_nodes}/{cluster_nodes} reachable\t({now})"
    out = [line + ("\t(Probe interval: 1m43.45s)" if v >= (1, 18) else "")]
    if v >= (1, 17):
        out.append("Name\tIP\tNode\tEndpoints")
    elif rows:
        # --verbose lists every node, in the same tabwriter as the lines above, so the node names widen
        # the label column of "Encryption:" and "Cluster health:" (real 1.13.4 --verbose output,
        # littlejo/cilium-eks-cookbook install-cilium-eks-helm.md)
        out += ["  Name\tIP\tNode\tEndpoints", *rows]
    if v >= (1, 16):
        out.append("Modules Health:\tStopped(0) Degraded(0) OK(58)")
    return out
