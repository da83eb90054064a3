"""The commands a person types to see or do by hand what a lab step does, for the running Cilium version.

Pure: strings from the version and the install's names. The agent's CLI is `cilium` up to 1.14 and
`cilium-dbg` from 1.15 (reference cilium-tuning.md, "In-pod CLI name": PR cilium/cilium#28085); the
status line that shows a setting is named per version (reference B.1: `Host Routing:` up to 1.15,
`Routing: ... Host:` from 1.16, PR cilium/cilium#32036); a config key per version comes from `SETTINGS`.
"""

from __future__ import annotations

from cilium_lab.cilium.settings import SETTINGS
from cilium_lab.cilium.versions import CiliumVersion

# status attribute -> the label of the `cilium-dbg status --verbose` line that shows it (reference B.1)
STATUS_LINES = {
    "host_routing": "Host Routing",
    "routing_network": "Routing",
    "kpr_full": "KubeProxyReplacement",
    "kube_proxy_replacement": "KubeProxyReplacement",
    "nodeport_mode": "Mode",  # in the verbose KubeProxyReplacement Details block
    "xdp_acceleration": "XDP Acceleration",  # same block
    "masquerading": "Masquerading",
    "ipv4_big_tcp": "IPv4 BIG TCP",
    "ipv6_big_tcp": "IPv6 BIG TCP",
    "bandwidth_manager": "BandwidthManager",
    "congestion_control": "BandwidthManager",
    "hubble": "Hubble",
    "map_dynamic_size_ratio": "Dynamic Sizing",  # in the verbose BPF Maps block
}
ROUTING_LINE_SINCE = "1.16"  # `Host Routing:` and the routing mode became one `Routing:` line


def agent_cli(version: str) -> str:
    """The CLI inside the agent pod: `cilium-dbg` from 1.15 on, `cilium` before."""
    return "cilium-dbg" if CiliumVersion.parse(version).minor_tuple >= (1, 15) else "cilium"


def in_agent(version: str, *args: str, namespace: str = "kube-system", daemonset: str = "cilium") -> str:
    """`kubectl exec` into an agent (any node's; add `--field-selector` or a pod name for one node)."""
    return (
        f"kubectl -n {namespace} exec ds/{daemonset} -c cilium-agent -- {agent_cli(version)} {' '.join(args)}"
    )


def status_line(attribute: str, version: str) -> str:
    """The status line's label for a status attribute, as this version prints it."""
    label = STATUS_LINES.get(attribute, attribute)
    since = CiliumVersion.parse(ROUTING_LINE_SINCE).minor_tuple
    if attribute == "host_routing" and CiliumVersion.parse(version).minor_tuple >= since:
        return "Routing"
    return label


def config_key(setting: str, version: str) -> str:
    """The cilium-config key that holds a logical setting in this version."""
    return SETTINGS[setting].era(CiliumVersion.parse(version)).key


def grep_status(
    attribute: str, version: str, *, namespace: str = "kube-system", daemonset: str = "cilium"
) -> str:
    label = status_line(attribute, version)
    return f'{in_agent(version, "status", "--verbose", namespace=namespace, daemonset=daemonset)} | grep "{label}"'


def grep_config(
    setting: str, version: str, *, namespace: str = "kube-system", configmap: str = "cilium-config"
) -> str:
    return f"kubectl -n {namespace} get configmap {configmap} -o yaml | grep {config_key(setting, version)}"
