"""`cilium-lab sim`: serve an embedded (SIMULATED) cluster for kubectl and notebooks, list profiles.

`sim serve` starts `cilium_lab.sim.cluster.EmbeddedCluster` on 127.0.0.1, writes its kubeconfig,
prints one line saying where it serves, and runs until Ctrl-C or SIGTERM; with `--state FILE` the
cluster's state is restored at start and saved on change and at exit. With `--control-plane real` the API
server, controllers and scheduler are real ones (the program `make controlplane` builds, or
$CILIUM_LAB_CONTROLPLANE) and only the nodes are emulated (`cilium_lab.sim.nodeside`); its state lives in
that server and ends with it, so `--state` does not apply. `sim profiles` lists the shipped cluster profiles.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from cilium_lab import limits
from cilium_lab.cli.common import add_json_option, print_json
from cilium_lab.errors import ClusterError, InputError
from cilium_lab.results.labels import SIMULATED

if TYPE_CHECKING:
    from cilium_lab.sim.cluster import EmbeddedCluster
    from cilium_lab.sim.nodeside.real_cluster import RealControlPlaneCluster


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sim", help="the embedded simulated cluster: serve it, list its profiles")
    verbs = parser.add_subparsers(dest="sim_verb", metavar="ACTION", required=True)
    serve = verbs.add_parser("serve", help="serve an embedded cluster on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--profile", default="seed-mixed", help="profile name or path to a profile YAML")
    serve.add_argument(
        "--kubeconfig", required=True, help="where to write the kubeconfig for this cluster (a new file)"
    )
    serve.add_argument("--force", action="store_true", help="replace the --kubeconfig file if it exists")
    serve.add_argument(
        "--port", default=0, help=f"port on 127.0.0.1, {limits.span(limits.PORT)} (default 0: any free port)"
    )
    serve.add_argument(
        "--state", default=None, help="state file: restored at start, saved on change and at exit"
    )
    serve.add_argument(
        "--control-plane",
        choices=("emulated", "real"),
        default="emulated",
        help="emulated (default): the embedded API server; real: a real kube-apiserver, controller manager and"
        " scheduler (`make controlplane`) with the emulated nodes",
    )
    serve.add_argument(
        "--seed", default=0, help=f"seed of the simulated measurements, {limits.span(limits.SEED)}"
    )
    serve.set_defaults(func=serve_command)
    profiles = verbs.add_parser("profiles", help="list the simulator profiles")
    add_json_option(profiles)
    profiles.set_defaults(func=profiles_command)


def serve_command(args: argparse.Namespace) -> int:
    args.port = limits.whole("--port", args.port, limits.PORT)
    args.seed = limits.whole("--seed", args.seed, limits.SEED)
    kubeconfig = Path(args.kubeconfig)
    if kubeconfig.is_dir():
        raise InputError(f"--kubeconfig {kubeconfig} is a directory: name a file to write the kubeconfig to")
    if not kubeconfig.parent.is_dir():
        raise InputError(
            f"cannot write the kubeconfig to {kubeconfig}: directory {kubeconfig.parent} does not exist"
        )
    if (kubeconfig.exists() or kubeconfig.is_symlink()) and not args.force:
        raise InputError(
            f"--kubeconfig {kubeconfig} exists and is left as it is: name a new file, or add --force to replace it"
        )
    # Ctrl-C and SIGTERM stop serving; installed only once the arguments were accepted, and put back after,
    # so a refused `sim serve` (or one run in-process) leaves the caller's handlers as they were
    stop = threading.Event()
    cluster = _cluster(args, kubeconfig, stop)
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with cluster:
            print(_serving(args, cluster, kubeconfig), flush=True)
            stop.wait()
            if exited := getattr(cluster, "exited", ""):
                raise ClusterError(f"{exited}; its kubeconfig {kubeconfig} no longer reaches a server")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _cluster(
    args: argparse.Namespace, kubeconfig: Path, stop: threading.Event
) -> EmbeddedCluster | RealControlPlaneCluster:
    if args.control_plane == "emulated":
        from cilium_lab.sim.cluster import EmbeddedCluster

        return EmbeddedCluster(
            args.profile,
            seed=args.seed,
            state_file=args.state,
            port=args.port,
            kubeconfig=str(kubeconfig),
            overwrite=args.force,
        )
    from cilium_lab.sim.nodeside import process
    from cilium_lab.sim.nodeside.real_cluster import RealControlPlaneCluster

    if args.state:
        raise InputError(
            "--state keeps an emulated API server's objects; a real control plane keeps them in its own etcd,"
            " which ends when it stops: leave --state out, or use --control-plane emulated"
        )
    process.binary()  # one line saying how to build it, before anything starts
    return RealControlPlaneCluster(
        args.profile,
        seed=args.seed,
        port=args.port,
        kubeconfig=str(kubeconfig),
        overwrite=args.force,
        on_exit=stop.set,
    )


def _serving(
    args: argparse.Namespace, cluster: EmbeddedCluster | RealControlPlaneCluster, kubeconfig: Path
) -> str:
    """The one line `sim serve` prints once it serves."""
    if args.control_plane == "real":
        return (
            f"{SIMULATED} nodes of profile '{cluster.profile.name}' on a real control plane (kube-apiserver "
            f"{cluster.version}) serving on {cluster.url} (kubeconfig {kubeconfig}, contexts admin, inspector, "
            "operator, host-operator and readonly); Ctrl-C to stop"
        )
    state = f", state in {args.state}" if args.state else ""
    return (
        f"{SIMULATED} cluster '{cluster.profile.name}' serving on {cluster.url} "
        f"(kubeconfig {kubeconfig}, contexts admin and readonly{state}); Ctrl-C to stop"
    )


def profiles_command(args: argparse.Namespace) -> int:
    from cilium_lab.sim import profiles

    loaded = [profiles.load(name) for name in profiles.available()]
    if args.json:
        print_json(
            [
                {
                    "name": p.name,
                    "description": p.description,
                    "kubernetes": p.kubernetes_version,
                    "cilium": p.cilium_version,
                    "nodes": len(p.nodes),
                }
                for p in loaded
            ]
        )
        return 0
    for p in loaded:
        print(f"{p.name:<14} cilium {p.cilium_version:<8} {len(p.nodes)} nodes  {p.description}")
    return 0
