"""The traffic paths a benchmark measures, as data, and the pods each one needs.

Called by `bench.pods` (what to deploy) and `bench.runner` (which client talks to which address);
calls nothing. cilium-cli measures pod-to-pod and host-to-host on the same and another node but has
no pod-to-service path (netbench.md §1, §7); this vocabulary adds it. "Other node" is the default
because it crosses the datapath under test (routing, encapsulation, host routing) on both nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cilium_lab.errors import InputError

# pod roles: server pods run `netserver -D`; client pods idle until netperf is exec'd in them
SERVER_POD, SERVER_HOST = "server-pod", "server-host"
CLIENT_POD_OTHER, CLIENT_POD_SAME, CLIENT_HOST_OTHER = (
    "client-pod-other",
    "client-pod-same",
    "client-host-other",
)


@dataclass(frozen=True)
class Scenario:
    name: str
    client_role: str
    server_role: str
    same_node: bool
    via_service: bool = False
    description: str = ""


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "pod-to-pod", CLIENT_POD_OTHER, SERVER_POD, False, description="pod to a pod on another node"
        ),
        Scenario(
            "pod-to-pod-same-node",
            CLIENT_POD_SAME,
            SERVER_POD,
            True,
            description="pod to a pod on its own node",
        ),
        Scenario(
            "host-to-host",
            CLIENT_HOST_OTHER,
            SERVER_HOST,
            False,
            description="node to node, host network (the baseline)",
        ),
        Scenario(
            "pod-to-service",
            CLIENT_POD_OTHER,
            SERVER_POD,
            False,
            True,
            "pod to a ClusterIP whose backend is on another node",
        ),
    )
}
DEFAULT_SCENARIO = "pod-to-pod"


def resolve(names: str | list[str] | tuple[str, ...]) -> list[Scenario]:
    """Scenario names (a list, or one string with commas) to Scenarios; InputError for unknown ones."""
    items = names.split(",") if isinstance(names, str) else list(names)
    items = [n.strip() for n in items if n.strip()]
    if not items:
        raise InputError(f"give at least one scenario: {', '.join(SCENARIOS)}")
    unknown = [n for n in items if n not in SCENARIOS]
    if unknown:
        raise InputError(f"unknown scenario {unknown[0]!r}: choose from {', '.join(SCENARIOS)}")
    return [SCENARIOS[n] for n in dict.fromkeys(items)]


def roles_needed(scenarios: list[Scenario]) -> set[str]:
    return {role for s in scenarios for role in (s.client_role, s.server_role)}
