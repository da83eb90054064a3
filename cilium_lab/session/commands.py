"""The commands behind each step: what a person types to see or do the same on their own cluster.

Shown collapsed under a step's output (an HTML <details> block in a notebook, indented text on a
terminal). Derived, not written per lab: the agent CLI and status lines per version from
`cilium.commands`, the checks from the catalogue item's verification looks, the change from the plan
(its `cilium config set` lines and Helm command, as `change.config.planning` computed them).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from cilium_lab.catalog import Item
from cilium_lab.cilium import commands as cli
from cilium_lab.session import show

if TYPE_CHECKING:
    from cilium_lab.change.config.plans import Plan
    from cilium_lab.cluster.snapshot import Snapshot

# a node's own host settings, read through a debug pod with the host's root at /host
HOST_READS = {
    "tuned_profile": "tuned-adm active",
    "cpu_governor": "cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
    "irqbalance": "systemctl is-active irqbalance",
}
SUMMARY = "Commands behind this step"


def _names(snap: Snapshot) -> dict[str, str]:
    return {"namespace": snap.namespace, "daemonset": snap.install.daemonset}


def snapshot(snap: Snapshot) -> list[str]:
    version, where = snap.cilium_version, _names(snap)
    return [
        "kubectl get nodes -o wide",
        cli.in_agent(version, "status", "--verbose", **where),
        f"kubectl -n {snap.namespace} get configmap {snap.install.configmap} -o yaml",
        f"kubectl -n {snap.namespace} get ciliumnodeconfigs",
    ]


def verification(item: Item, snap: Snapshot) -> list[str]:
    """One command per look of the item's checks, in the catalogue's order (duplicates once)."""
    version, where = snap.cilium_version, _names(snap)
    found: list[str] = []
    for check in item.verify:
        for look in check.looks:
            if look.where == "status":
                found.append(cli.grep_status(look.line or look.name, version, **where))
            elif look.where == "config":
                found.append(cli.grep_config(look.name, version, namespace=snap.namespace,
                                             configmap=snap.install.configmap))  # fmt: skip
            elif look.name == "kernel":
                found.append(
                    "kubectl get nodes -o custom-columns=NODE:.metadata.name,KERNEL:.status.nodeInfo.kernelVersion"
                )
            elif look.name == "preemption":
                found.append(
                    f"kubectl -n {snap.namespace} exec ds/{snap.install.daemonset} -c cilium-agent -- uname -v"
                )
            elif look.where == "facts":
                found.append(
                    f"kubectl -n {snap.namespace} exec ds/{snap.install.daemonset} -c cilium-agent -- ip link show"
                )
            else:
                found.append(
                    f"kubectl debug node/NODE -it --image=busybox -- chroot /host {HOST_READS.get(look.name, look.name)}"
                )
    return list(dict.fromkeys(found))


def readiness(item: Item, snap: Snapshot) -> list[str]:
    kernels = "kubectl get nodes -o custom-columns=NODE:.metadata.name,KERNEL:.status.nodeInfo.kernelVersion,ARCH:.status.nodeInfo.architecture"
    return list(dict.fromkeys([kernels, *verification(item, snap)]))


def measurement(tests: tuple[str, ...], duration: int, client: str, server: str) -> list[str]:
    """netperf between a pod on `client` and a netserver on `server`, as the benchmark runs it."""
    from cilium_lab.bench import netperf

    def pod(name: str, node: str, command: str) -> str:
        pinned = f'{{"spec":{{"nodeName":"{node}"}}}}'
        return f"kubectl run {name} --image=<an image with netperf> --overrides='{pinned}' -- {command}"

    return [
        pod("netserver", server, "netserver -D"),
        pod("netperf", client, "sleep infinity"),
        "kubectl get pod netserver -o jsonpath='{.status.podIP}'   # SERVER-POD-IP",
        *(f"kubectl exec netperf -- {' '.join(netperf.single_command(t, 'SERVER-POD-IP', duration))}"
          for t in tests if t in netperf.TESTS and t != "TCP_STREAM_MULTI"),
    ]  # fmt: skip


def change(planned: Plan) -> list[str]:
    """The change by hand: cilium-config or the CiliumNodeConfig, the agents' restart, and its equivalents."""
    ns = planned.namespace
    found: list[str] = []
    if planned.nothing_to_do:
        return found
    if planned.node_config is not None:
        import yaml

        found.append(f"kubectl label node {' '.join(planned.selected)} {planned.node_label}=true")
        manifest = yaml.safe_dump(planned.node_config, sort_keys=False).rstrip()
        found.append(f"kubectl apply -f - <<'EOF'\n{manifest}\nEOF")
        for node in planned.selected:  # only these nodes' agents restart
            found.append(
                f"kubectl -n {ns} delete pod -l k8s-app=cilium --field-selector spec.nodeName={node}"
            )
        found.append(f"kubectl -n {ns} rollout status ds/cilium")
    else:
        data = ", ".join(f'"{k}": {"null" if v is None else f"{chr(34)}{v}{chr(34)}"}'
                         for k, v in sorted(planned.changes.items()))  # fmt: skip
        found.append(
            f"kubectl -n {ns} patch configmap {planned.configmap} --type merge -p '{{\"data\": {{{data}}}}}'"
        )
        found.append(f"kubectl -n {ns} rollout restart ds/cilium")
        found.append(f"kubectl -n {ns} rollout status ds/cilium")
    if planned.helm and not planned.scoped:
        found.append(f"# or with Helm: {planned.helm_command}")
    found.extend(f"# or with cilium-cli: {line}" for line in planned.cli if not planned.node_config)
    return found


def shown(lines: list[str]) -> None:
    """The commands, collapsed under the step's output."""
    if not lines:
        return
    if show.in_notebook():
        from IPython.display import HTML, display

        body = escape("\n".join(lines))
        display(
            HTML(
                f"<details class='cilium-lab-commands'><summary>{SUMMARY}</summary><pre>{body}</pre></details>"
            )
        )
    else:
        print(f"{SUMMARY}:\n" + "\n".join(f"  $ {line}" for line in lines))
