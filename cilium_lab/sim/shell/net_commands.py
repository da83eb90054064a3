"""Network views in emulated pods: `ip link`, `ip route`, `ip addr`, `iptables -S`, `iptables-save`.

A hostNetwork pod sees the
node's NIC and, while the agent runs, Cilium's devices (cilium_net/cilium_host, the tunnel device,
lxc_health); any other pod sees lo and its eth0. What Cilium changes shows where it would: the pod
MTU (tunnel overhead), GSO/GRO sizes with BIG TCP (reference A.1 row 7: `ip -d link show`), the XDP
program on the NIC (row 12), NOTRACK rules in the raw table (row 5), kube-proxy's chains while KPR is
off. Simplifications: one NIC, /24 node subnet with the gateway at .1, no routes to other nodes' pod
CIDRs, iptables rule sets are short representative sets.
"""

from __future__ import annotations

from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.agent.runtime import ExecContext, ExecResult
from cilium_lab.sim.shell import node_view
from cilium_lab.sim.shell.node_view import fail, ok

DEFAULT_GSO = 65536


def ip(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    args, opts = argv[1:], set()
    while args and args[0].startswith("-"):
        opts.add(args[0].lstrip("-")[:1])
        args = args[1:]
    if not args:
        return fail("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }", 255)
    obj, rest = args[0], args[1:]
    if "link".startswith(obj) and obj.startswith("l"):
        return _link(ctx, rest, detail="d" in opts)
    if "route".startswith(obj) and obj.startswith("r"):
        return _route(ctx, rest)
    if "address".startswith(obj) and obj.startswith("a"):
        return _addr(ctx, rest)
    return fail(f'Object "{obj}" is unknown, try "ip help".', 255)


def _devices(ctx: ExecContext) -> list[tuple[str, str]]:
    """(name, `ip link` text) of each device the pod sees, in ifindex order."""
    dp = node_view.datapath(ctx)
    lo = "<LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000"
    devices = [("lo", lo + "\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00")]
    if not node_view.host_network(ctx):
        mtu = dp.mtu if dp else 1500
        head = f"<BROADCAST,MULTICAST,UP,LOWER_UP> mtu {mtu} qdisc noqueue state UP mode DEFAULT group default qlen 1000"
        return [
            *devices,
            ("eth0", f"{head}\n    link/ether 0a:58:0a:2a:00:2d brd ff:ff:ff:ff:ff:ff link-netnsid 0"),
        ]
    nic = ctx.node.nic
    xdp = " xdp" if dp and dp.xdp in ("native", "best-effort") and nic.xdp_native else ""
    head = f"<BROADCAST,MULTICAST,UP,LOWER_UP> mtu {nic.mtu}{xdp} qdisc mq state UP mode DEFAULT group default qlen 1000"
    devices.append((nic.name, f"{head}\n    link/ether {nic.mac} brd ff:ff:ff:ff:ff:ff"))
    if dp is None:
        return devices
    flags = "<BROADCAST,MULTICAST,NOARP,UP,LOWER_UP>"
    for name, peer in (("cilium_net", "cilium_host"), ("cilium_host", "cilium_net")):
        text = f"{flags} mtu {dp.device_mtu} qdisc noqueue state UP mode DEFAULT group default qlen 1000"
        devices.append(
            (f"{name}@{peer}", f"{text}\n    link/ether 6e:d1:2c:00:00:0{len(devices)} brd ff:ff:ff:ff:ff:ff")
        )
    if dp.routing == "tunnel":
        text = f"<BROADCAST,MULTICAST,UP,LOWER_UP> mtu {dp.device_mtu} qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000"
        devices.append(
            (
                f"cilium_{dp.tunnel_protocol}",
                f"{text}\n    link/ether 1e:4a:9b:00:00:05 brd ff:ff:ff:ff:ff:ff",
            )
        )
    text = f"<BROADCAST,MULTICAST,UP,LOWER_UP> mtu {dp.mtu} qdisc noqueue state UP mode DEFAULT group default qlen 1000"
    devices.append(
        ("lxc_health@if6", f"{text}\n    link/ether 9a:30:7c:00:00:07 brd ff:ff:ff:ff:ff:ff link-netnsid 1")
    )
    return devices


def _link(ctx: ExecContext, args: list[str], detail: bool) -> ExecResult:
    if args[:1] in ([], ["show"], ["list"], ["ls"]):
        args = args[1:]
    if args[:1] == ["dev"]:
        args = args[1:]
    devices = _devices(ctx)
    if args:
        devices = [(n, t) for n, t in devices if n.split("@")[0] == args[0]]
        if not devices:
            return fail(f'Device "{args[0]}" does not exist.', 1)
    index = {name: i + 1 for i, (name, _) in enumerate(_devices(ctx))}
    out = []
    for name, text in devices:
        line = f"{index[name]}: {name}: {text}"
        if detail:
            line += _detail(ctx, name.split("@")[0])
        out.append(line + "\n")
    return ok("".join(out))


def _detail(ctx: ExecContext, name: str) -> str:
    """The `-d` tail: queue counts and the GSO/GRO sizes BIG TCP changes (kernel-dependent fields)."""
    if name == "lo":
        return " promiscuity 0  allmulti 0 minmtu 0 maxmtu 0 addrgenmode eui64 numtxqueues 1 numrxqueues 1"
    dp, kernel, nic = node_view.datapath(ctx), ctx.node.kernel, ctx.node.nic
    v6 = dp.big_tcp_size if dp and dp.ipv6_big_tcp else DEFAULT_GSO
    v4 = dp.big_tcp_size if dp and dp.ipv4_big_tcp else DEFAULT_GSO
    q = node_view.queues(ctx) if name == nic.name else 1
    max_mtu = nic.max_mtu if name == nic.name else 65535
    text = f" promiscuity 0  allmulti 0 minmtu 68 maxmtu {max_mtu}"
    if name == "eth0":
        text += f" \n    {'netkit' if dp and dp.device_mode != 'veth' else 'veth'}"
    text += f" addrgenmode eui64 numtxqueues {q} numrxqueues {q} gso_max_size {v6} gso_max_segs 65535"
    major_minor = tuple(int(x) for x in kernel.split("-")[0].split(".")[:2])
    if major_minor >= (6, 0):
        tso = 524280 if nic.big_tcp and name == nic.name else DEFAULT_GSO
        text += f" tso_max_size {tso} tso_max_segs 65535"
    if major_minor >= (5, 19):
        text += f" gro_max_size {v6}"
    if major_minor >= (6, 3):
        text += f" gso_ipv4_max_size {v4} gro_ipv4_max_size {v4}"
    if name == nic.name:
        text += " parentbus pci parentdev 0000:41:00.0"
        if dp and " xdp" in dict(_devices(ctx))[nic.name].split("\n")[0]:
            text += "\n    prog/xdp id 812 tag 3b185187f1855c4c jited"
    return text


def _gateway(address: str) -> str:
    return address.rsplit(".", 1)[0] + ".1"


def _route(ctx: ExecContext, args: list[str]) -> ExecResult:
    if args[:1] in (["show"], ["list"], ["ls"]):
        args = args[1:]
    if args not in ([], ["default"]):
        return fail('Error: either "to" is duplicate, or "' + args[0] + '" is a garbage.', 255)
    dp = node_view.datapath(ctx)
    node = ctx.node
    if node_view.host_network(ctx):
        nic, ip_ = node.nic.name, node.internal_ip
        routes = [f"default via {_gateway(ip_)} dev {nic} proto static"]
        routes.append(f"{_gateway(ip_)[:-2]}.0/24 dev {nic} proto kernel scope link src {ip_}")
        if dp:
            host_ip = node.pod_cidr.split("/")[0][:-1] + "1"
            routes.append(f"{node.pod_cidr} via {host_ip} dev cilium_host proto kernel src {host_ip}")
    else:
        router = node.pod_cidr.split("/")[0][:-1] + "1"
        routes = [
            f"default via {router} dev eth0 mtu {dp.mtu if dp else 1500}",
            f"{router} dev eth0 scope link",
        ]
    if args == ["default"]:
        routes = routes[:1]
    return ok("".join(r + " \n" for r in routes))


def _addr(ctx: ExecContext, args: list[str]) -> ExecResult:
    node = ctx.node
    if node_view.host_network(ctx):
        name, address = node.nic.name, f"{node.internal_ip}/24"
    else:
        name, address = "eth0", f"{ctx.pod_ip or node.pod_cidr.split('/')[0][:-1] + '45'}/32"
    lines = [f"2: {name}: <BROADCAST,MULTICAST,UP,LOWER_UP>", f"    inet {address} scope global {name}"]
    return ok("\n".join(lines) + "\n")


def _cilium_raw(dp: Datapath | None, cidr: str) -> list[str]:
    rules = ["-P PREROUTING ACCEPT", "-P OUTPUT ACCEPT"]
    if dp is None:
        return rules
    rules += ["-N CILIUM_OUTPUT_raw", "-N CILIUM_PRE_raw"]
    rules += [
        '-A PREROUTING -m comment --comment "cilium-feeder: CILIUM_PRE_raw" -j CILIUM_PRE_raw',
        '-A OUTPUT -m comment --comment "cilium-feeder: CILIUM_OUTPUT_raw" -j CILIUM_OUTPUT_raw',
    ]
    if dp.no_conntrack:
        for chain in ("CILIUM_OUTPUT_raw", "CILIUM_PRE_raw"):
            for way in ("-d", "-s"):
                rules.append(
                    f'-A {chain} {way} {cidr} -m comment --comment "cilium: NOTRACK for pod traffic" -j CT --notrack'
                )
    rules.append(
        '-A CILIUM_PRE_raw -m mark --mark 0x200/0xf00 -m comment --comment "cilium: NOTRACK for proxy traffic" -j CT --notrack'
    )
    return rules


def _table(ctx: ExecContext, table: str) -> list[str]:
    dp = node_view.datapath(ctx)
    cidr = (
        ctx.config.get("ipv4-native-routing-cidr")
        or ctx.config.get("cluster-pool-ipv4-cidr")
        or ctx.node.pod_cidr
    )
    if table == "raw":
        return _cilium_raw(dp, cidr)
    if table == "nat":
        rules = ["-P PREROUTING ACCEPT", "-P INPUT ACCEPT", "-P OUTPUT ACCEPT", "-P POSTROUTING ACCEPT"]
        if dp is not None and dp.masquerade == "iptables":
            rules += [
                "-N CILIUM_POST_nat",
                f'-A CILIUM_POST_nat -s {cidr} ! -d {cidr} -m comment --comment "cilium masquerade non-cluster" -j MASQUERADE',
            ]
        if dp is None or not dp.kpr:  # kube-proxy's chains
            rules += [
                "-N KUBE-SERVICES",
                "-N KUBE-POSTROUTING",
                "-N KUBE-MARK-MASQ",
                '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
            ]
        return rules
    return [
        "-P INPUT ACCEPT",
        "-P FORWARD ACCEPT",
        "-P OUTPUT ACCEPT",
        "-N CILIUM_FORWARD",
        "-N CILIUM_INPUT",
        "-N CILIUM_OUTPUT",
    ]


def iptables(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    args, table = argv[1:], "filter"
    if args[:1] == ["-t"] and len(args) >= 2:
        table, args = args[1], args[2:]
    if args not in (["-S"], ["--list-rules"]):
        return fail("iptables: only `iptables [-t TABLE] -S` is emulated", 2)
    if table not in ("raw", "nat", "filter", "mangle"):
        return fail(
            f"iptables v1.8.9 (legacy): can't initialize iptables table `{table}': Table does not exist", 3
        )
    rules = _table(ctx, table) if table != "mangle" else ["-P PREROUTING ACCEPT", "-P OUTPUT ACCEPT"]
    return ok("".join(r + "\n" for r in rules))


def iptables_save(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    out = ["# Generated by iptables-save v1.8.9 (emulated)"]
    for table in ("raw", "nat", "filter"):
        rules = _table(ctx, table)
        out.append(f"*{table}")
        out += [f":{r.split()[1]} {r.split()[2]} [0:0]" for r in rules if r.startswith("-P ")]
        out += [r for r in rules if r.startswith("-A ")]
        out.append("COMMIT")
    return ok("\n".join(out) + "\n")


COMMANDS = {"ip": ip, "iptables": iptables, "iptables-save": iptables_save}
