"""Cilium's start-up rules for the emulated agent: config keys per version, and the fallbacks and
fatal errors by which a real agent turns requested settings into what it runs.

The `derive_*` functions apply in order on a `Draft`; each one reads the merged cilium-config, the node's
kernel and NIC and the version, sets Datapath fields, appends log lines, or raises `Fatal` with the message
the real agent dies with.

Sources (the project's Cilium tuning reference, cited below as "ref A.0" etc.) and the agent code read for the
messages: cilium/cilium daemon/cmd/daemon_main.go and kube_proxy_replacement.go (1.10-1.12 era). Messages
marked "(approx.)" are not copied from a source: their wording is ours, the rule is Cilium's. Raises
InputError for an unparsable version or kernel. Simplifications: one device per node (the NIC), IPv4 pod
traffic, no IPsec/WireGuard, no CNI chaining, no endpoint routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cilium_lab.errors import InputError
from cilium_lab.sim.state.profiles import NodeProfile

Version = tuple[int, int, int]
HOST_LEGACY_FALLBACK = "Falling back to legacy host routing (enable-host-legacy-routing=true)."
BIG_TCP_SIZE = 196608  # GSO/GRO max with BIG TCP; default 65536 (ref A.1 row 7, PR #20349)


class Fatal(Exception):
    """The agent would exit with this message (level=fatal); the pod crash-loops."""


@dataclass
class Draft:
    """The agent's view while it starts: inputs plus the Datapath fields derived so far."""

    version: Version
    config: dict[str, str]
    node: NodeProfile
    kernel: Version
    fields: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    nodeport: bool = False  # BPF NodePort enabled (full KPR, or partial with enable-node-port)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.config.get(key)
        if value is None or value == "":
            return default
        return value.strip().lower() == "true"

    def info(self, msg: str, subsys: str = "daemon") -> None:
        self.log.append(f'level=info msg="{quote(msg)}" subsys={subsys}')
        self.notes.append(msg)

    def warn(self, msg: str, subsys: str = "daemon") -> None:
        self.log.append(f'level=warning msg="{quote(msg)}" subsys={subsys}')
        self.notes.append(msg)

    def silent(self, msg: str) -> None:
        """A fallback the real agent makes without a log line: kept in notes only, marked as such."""
        self.notes.append(f"(no agent log line) {msg}")


def quote(msg: str) -> str:
    return msg.replace('"', '\\"')


def parse_version(text: str) -> Version:
    """'1.13.4' or 'v1.18.6' (pre-release suffixes ignored) -> (1, 13, 4)."""
    m = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if not m:
        raise InputError(f"not a Cilium version: {text!r}: give major.minor.patch such as 1.13.4")
    return int(m[1]), int(m[2]), int(m[3] or 0)


def kernel_version(node: NodeProfile) -> Version:
    """Upstream version of the node's kernel; Debian hides the patch level in `uname -v` (ref A.3)."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", node.kernel)
    if not m:
        raise InputError(f"node {node.name}: kernel release {node.kernel!r} is not a kernel version")
    major, minor, patch = int(m[1]), int(m[2]), int(m[3] or 0)
    build = re.search(rf"\b{major}\.{minor}\.(\d+)", node.kernel_build)
    if build and int(build[1]) > patch:
        patch = int(build[1])
    return major, minor, patch


def derive_routing(d: Draft) -> None:
    """Tunnel vs native routing; key names per version (ref A.0 "Routing-mode rename")."""
    cfg, v = d.config, d.version
    if v < (1, 14):
        tunnel = cfg.get("tunnel", "vxlan") or "vxlan"
        if tunnel not in ("vxlan", "geneve", "disabled"):
            raise Fatal(f"Invalid setting for --tunnel: {tunnel} (approx.)")
        _set_routing(d, "native" if tunnel == "disabled" else "tunnel", tunnel)
        return
    mode = cfg.get("routing-mode", "tunnel") or "tunnel"
    protocol = cfg.get("tunnel-protocol", "vxlan") or "vxlan"
    if "tunnel" in cfg and v < (1, 15):
        # 1.14 maps tunnel=disabled to native and refuses --tunnel with a non-default --routing-mode
        # (cli-vendor@d998d7f87 pkg/option/config.go Populate, ref A.0).
        if mode != "tunnel":
            raise Fatal("Option tunnel cannot be used together with routing-mode (approx.)")
        d.warn("Option tunnel is deprecated in favor of routing-mode and tunnel-protocol (approx.)")
        tunnel = cfg["tunnel"]
        mode, protocol = ("native", protocol) if tunnel == "disabled" else ("tunnel", tunnel)
    elif "tunnel" in cfg:
        # Removed in 1.15 (PR #29053): the agent no longer has the flag, so the key is not read.
        d.silent(f"key 'tunnel: {cfg['tunnel']}' is ignored by Cilium >= 1.15 (removed, PR #29053)")
    if mode not in ("tunnel", "native"):
        raise Fatal(f"Invalid value for --routing-mode: {mode} (approx.)")
    if protocol not in ("vxlan", "geneve"):
        raise Fatal(f"Invalid value for --tunnel-protocol: {protocol} (approx.)")
    _set_routing(d, mode, protocol)


def _set_routing(d: Draft, mode: str, protocol: str) -> None:
    tunnel = mode == "tunnel"
    d.fields.update(routing=mode, tunnel_protocol=protocol if tunnel else None)
    if tunnel and d.flag("auto-direct-node-routes"):
        # daemon_main.go initEnv; PR #15196 (ref A.1 row 1)
        raise Fatal(
            "auto-direct-node-routes cannot be used with tunneling. Packets must be routed through the tunnel device."
        )


_KPR_VALUES = {
    "old": ("strict", "partial", "disabled"),  # ref A.0 "KPR value rename"
    "new": ("true", "false"),
}


def derive_kpr(d: Draft) -> None:
    """Kube-proxy replacement value per version: strict/partial/disabled <=1.15, true/false >=1.14."""
    v = d.version
    value = (d.config.get("kube-proxy-replacement") or ("false" if v >= (1, 14) else "disabled")).lower()
    allowed: tuple[str, ...] = ()
    if v < (1, 16):
        allowed += _KPR_VALUES["old"] + (("probe",) if v < (1, 13) else ())  # probe removed in 1.13 (#22083)
    if v >= (1, 14):
        allowed += _KPR_VALUES["new"]
    if value not in allowed:
        # 1.16 removed strict/partial/disabled (PR #31286); the wording is ours.
        raise Fatal(
            f"Invalid value for --kube-proxy-replacement: {value} (must be one of {', '.join(allowed)}) (approx.)"
        )
    full = value in ("strict", "true") or (value == "probe" and d.kernel >= (4, 19, 57))
    if full and d.kernel < (4, 19, 57):
        # kube_proxy_replacement.go probeCgroupSupportUDP (strict mode returns the error)
        raise Fatal(
            "BPF host reachable services for UDP needs kernel 4.19.57, 5.1.16, 5.2.0 or newer. If you run an older "
            "kernel and only need TCP, then specify: --host-reachable-services-protos=tcp and "
            "--kube-proxy-replacement=partial"
        )
    # partial (<=1.15) and false (>=1.14) leave the features to their own keys (ref A.0)
    d.nodeport = full or (value in ("partial", "false") and d.flag("enable-node-port"))
    d.fields.update(kpr=full, kpr_mode=value.capitalize())


def derive_masquerade(d: Draft) -> None:
    """iptables vs BPF masquerading; native routing needs ipv4-native-routing-cidr (ref A.1 rows 1, 3)."""
    masq = d.flag("enable-ipv4-masquerade", default=True) or d.flag("masquerade", default=False)
    bpf = d.flag("enable-bpf-masquerade")
    if bpf and masq and not d.nodeport:
        raise Fatal('BPF masquerade requires NodePort (--enable-node-port="true").')
    d.fields["masquerade"] = "disabled" if not masq else ("bpf" if bpf else "iptables")
    if masq and d.fields["routing"] == "native" and not d.config.get("ipv4-native-routing-cidr"):
        routing = "--tunnel=disabled" if d.version < (1, 14) else "--routing-mode=native"
        raise Fatal(
            "native routing cidr must be configured with option --ipv4-native-routing-cidr in combination with "
            f"--enable-ipv4-masquerade {routing} --enable-ipv4=true (approx.)"
        )


def derive_lb_mode(d: Draft) -> None:
    """SNAT/DSR/Hybrid and DSR dispatch (ref A.1 row 4, D.9)."""
    mode = (d.config.get("bpf-lb-mode") or "snat").lower()
    dispatch = (d.config.get("bpf-lb-dsr-dispatch") or "opt").lower()
    if mode not in ("snat", "dsr", "hybrid"):
        raise Fatal(f"Invalid value for --bpf-lb-mode: {mode}")
    if mode == "snat" or not d.nodeport:
        d.fields.update(lb_mode="snat", dsr_dispatch=None)
        return
    tunnel = d.fields["routing"] == "tunnel"
    if dispatch == "ipip":
        raise Fatal("DSR dispatch mode ipip only supported for --datapath-mode=lb-only")
    if d.version < (1, 14):
        if tunnel:  # kube_proxy_replacement.go: warns and keeps SNAT
            d.warn(f'Disabling NodePort\'s "{mode}" mode feature due to tunneling mode being enabled')
            mode = "snat"
        dispatch = "opt"
    elif dispatch == "geneve" and d.fields.get("tunnel_protocol") != "geneve":
        raise Fatal(
            f'Node Port "{mode}" mode with geneve dispatch requires geneve tunnel protocol.'
        )  # #30845
    elif tunnel and dispatch != "geneve":
        raise Fatal(
            f'Node Port "{mode}" mode cannot be used with {d.fields["tunnel_protocol"]} tunneling. (approx.)'
        )
    d.fields.update(lb_mode=mode, dsr_dispatch=dispatch if mode != "snat" else None)


def derive_host_routing(d: Draft) -> None:
    """BPF host routing unless forced legacy or a prerequisite is missing (ref A.1 row 6, D.1, D.2)."""
    d.fields["host_routing"] = "legacy"
    if d.flag("enable-host-legacy-routing"):
        return
    if not d.nodeport:
        # finishKubeProxyReplacementInit returns before the host-routing check; no log until PR #44041.
        d.silent("BPF host routing needs kube-proxy replacement (BPF NodePort); legacy host routing kept")
        return
    reason = None
    if d.fields["masquerade"] == "iptables":
        reason = "BPF host routing requires enable-bpf-masquerade."
    elif d.kernel < (5, 10, 0):  # bpf_redirect_neigh / bpf_redirect_peer probes
        reason = "BPF host routing requires kernel 5.10 or newer."
    if reason:
        d.info(f"{reason} {HOST_LEGACY_FALLBACK}")
        return
    d.fields["host_routing"] = "bpf"


def derive_no_conntrack(d: Draft) -> None:
    """iptables NOTRACK rules for pod traffic (ref A.1 row 5); checks from daemon_main.go and KPR init."""
    if not d.flag("install-no-conntrack-iptables-rules"):
        return
    key = "install-no-conntrack-iptables-rules"
    if d.fields["routing"] == "tunnel":
        raise Fatal(f"{key} requires the agent to run in direct routing mode.")
    if not d.fields["kpr"]:
        value = "strict" if d.version < (1, 14) else "true"
        raise Fatal(f"{key} requires the agent to run with kube-proxy-replacement={value}.")
    if d.fields["masquerade"] == "iptables":
        raise Fatal(f"{key} requires the agent to run with enable-bpf-masquerade.")
    d.fields["no_conntrack"] = True
