"""The in-agent Cilium CLI in emulated agent pods: `cilium-dbg` (1.15+) and `cilium` (up to 1.14).

Prints through the agent's status outputs (`agent.status_output`, `agent.status_output_json`).
Subcommands: `status` with `--verbose`, `--brief`, `-o json|yaml`, and
`version`. The binary was renamed in 1.15 (reference A.0, cilium/cilium#28085): on 1.15+ images
`cilium` does not exist and on older images `cilium-dbg` does not. Errors follow cobra's format
(`Error: unknown flag: --x`, exit 1). While the agent is not running, status fails as the real CLI
does when the API socket is missing.

The Kubernetes version and the cluster's node count (the status's Kubernetes and Cluster health
lines) come from the ExecContext, which the API side fills from the profile and the Node objects;
a context without them (unit tests) falls back to the seed series' cluster and one node.
"""

from __future__ import annotations

import time

from cilium_lab.sim.agent import status_output, status_output_json, status_response
from cilium_lab.sim.agent.runtime import ExecContext, ExecResult
from cilium_lab.sim.agent.startup_rules import parse_version
from cilium_lab.sim.shell import node_view
from cilium_lab.sim.shell.node_view import fail, ok
from cilium_lab.sim.shell.text_tools import EPOCH

SOCKET_ERROR = (
    'Error: Unable to reach agent: Get "http://localhost/v1/healthz": dial unix /var/run/cilium/cilium.sock: '
    "connect: no such file or directory\nIs the agent running?\n"
)
DEFAULT_K8S = "v1.26.6+k3s1"  # the seed series' cluster, for contexts built without a version


def binary_exists(ctx: ExecContext, name: str) -> bool:
    renamed = parse_version(ctx.cilium_version) >= (1, 15)
    return name == ("cilium-dbg" if renamed else "cilium")


def cilium(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    name = argv[0].rsplit("/", 1)[-1]
    if len(argv) < 2:
        return ok(f"CLI for interacting with the local Cilium Agent\n\nUsage:\n  {name} [command]\n")
    sub, args = argv[1], argv[2:]
    if sub == "status":
        return _status(ctx, name, args)
    if sub == "version":
        tag = status_response.build_tag(ctx.cilium_version).split("-")[-1]
        line = f"{ctx.cilium_version} {tag} go version go1.22 linux/{ctx.node.arch}"
        return ok(f"Client: {line}\nDaemon: {line}\n")
    return fail(f'Error: unknown command "{sub}" for "{name}"\nRun \'{name} --help\' for usage.')


def _status(ctx: ExecContext, name: str, args: list[str]) -> ExecResult:
    verbose, brief, output = False, False, ""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("--verbose", "-v"):
            verbose = True
        elif arg == "--brief":
            brief = True
        elif arg in ("-o", "--output") and i + 1 < len(args):
            output, i = args[i + 1], i + 1
        elif arg.startswith(("-o=", "--output=")):
            output = arg.split("=", 1)[1]
        elif arg.startswith("-o") and len(arg) > 2:
            output = arg[2:]
        else:
            flag = arg if arg.startswith("-") else f"unknown command {arg!r}"
            return fail(f"Error: unknown flag: {flag}\nUsage:\n  {name} status [flags]\n")
        i += 1
    dp = node_view.datapath(ctx)
    if dp is None:
        return fail(SOCKET_ERROR)
    if brief:
        return ok("OK\n")
    k8s = ctx.kubernetes_version or DEFAULT_K8S
    nodes = max(1, ctx.cluster_nodes)
    now = _rfc3339(ctx)
    if output in ("json", "yaml"):
        render = status_output_json.render_json if output == "json" else status_output_json.render_yaml
        return ok(render(dp, ctx.node, ctx.cilium_version, ctx.config, kubernetes_version=k8s, now=now))
    if output:
        return fail(f"Error: unable to parse output format {output!r}: json, yaml supported in the emulator")
    text = status_output.render_text(
        dp,
        ctx.node,
        ctx.cilium_version,
        ctx.config,
        verbose=verbose,
        kubernetes_version=k8s,
        cluster_nodes=nodes,
        now=now,
        peers=ctx.peers,
    )
    return ok(text)


def _rfc3339(ctx: ExecContext) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH + ctx.clock()))


COMMANDS = {"cilium": cilium, "cilium-dbg": cilium}
