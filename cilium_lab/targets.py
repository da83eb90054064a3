"""Which cluster a lab or command works on, from one string.

- `sim:<profile>` starts an embedded, simulated cluster from `data/profiles/<profile>.yaml` (or, when a
  kubeconfig is given, attaches to the one a batch run already started for that profile);
- `kube` uses the kubeconfig's current context, `kube:<context>` a named context;
- `local` is the local kernel lab (network namespaces on this host, no cluster).

This is the only module that starts an embedded cluster. Everything it returns reaches the cluster
through `cluster.connect`, the same code path as a real cluster.

An embedded cluster started for one run (a notebook's own, or a `cilium-lab run` batch's) carries a
ledger, the ConfigMap kube-system/cilium-lab-series: it says that nobody else uses the cluster, and
which steps of the series have had their turn on it (`series_done`, `mark_done`). `sim serve` starts
no ledger: its cluster is shared, like a real one, and a lab never catches it up.
"""

from __future__ import annotations

import atexit
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cilium_lab.errors import InputError
from cilium_lab.results.labels import LIVE, LOCAL_KERNEL, SIMULATED

if TYPE_CHECKING:
    from cilium_lab.sim.cluster import EmbeddedCluster

_SPEC = re.compile(r"^(?:sim:(?P<profile>[A-Za-z0-9_.\-/]+)|kube(?::(?P<context>[^\s]+))?|(?P<local>local))$")


@dataclass(frozen=True)
class TargetSpec:
    kind: str  # "sim" | "kube" | "local"
    profile: str = ""
    context: str = ""


def parse(spec: str) -> TargetSpec:
    """Parse a target string; a wrong one is an InputError that lists the accepted forms."""
    if not isinstance(spec, str):
        raise InputError(f"cluster must be a string such as 'sim:seed-mixed', got {type(spec).__name__}")
    match = _SPEC.match(spec.strip())
    if not match:
        raise InputError(
            f"unknown cluster {spec!r}: use 'sim:<profile>' (embedded, e.g. sim:seed-mixed), "
            "'kube' (kubeconfig's current context), 'kube:<context>' or 'local'"
        )
    if match["local"]:
        return TargetSpec("local")
    if match["profile"]:
        return TargetSpec("sim", profile=match["profile"])
    return TargetSpec("kube", context=match["context"] or "")


def preflight(cluster: str, kubeconfig: str = "", context: str = "") -> None:
    """Refuse a target that cannot work before anything starts, without the network: a bad spec, or on
    `kube` a kubeconfig or context that is not there."""
    spec = parse(cluster)
    if spec.kind == "kube":
        from cilium_lab.cluster import connect as cluster_connect

        cluster_connect.check_kubeconfig(kubeconfig, context or spec.context)


@dataclass
class Target:
    """An opened target: a connection for clusters, nothing for the local kernel lab."""

    spec: TargetSpec
    kubeconfig: str = ""
    context: str = ""
    connection: Any = None  # cilium_lab.cluster.connect.Connection
    simulated: bool = False
    started_embedded: bool = False  # this target started its own embedded cluster (nobody else's state)
    _closers: list[Any] = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        if self.spec.kind == "local":
            return LOCAL_KERNEL
        return SIMULATED if self.simulated else LIVE

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()


def connect_target(
    cluster: str = "sim:seed-mixed", kubeconfig: str = "", context: str = "", seed: int = 0
) -> Target:
    """Open a target; the caller closes it (notebooks keep it open across cells, closed at exit)."""
    spec = parse(cluster)
    if context and spec.context and context != spec.context:
        raise InputError(
            f"two contexts given ({spec.context!r} in cluster, {context!r} in context): give one"
        )
    target = Target(spec, kubeconfig=kubeconfig, context=context or spec.context)
    if spec.kind == "local":
        return target
    if spec.kind == "sim" and not kubeconfig:
        _start_embedded(target, spec.profile, seed)
    from cilium_lab.cluster import connect as cluster_connect
    from cilium_lab.cluster import discover

    target.connection = cluster_connect.connect(target.kubeconfig, target.context)
    # a cluster we started is simulated; one reached through a kubeconfig is whatever its nodes say (the
    # embedded cluster labels them), so a real cluster's numbers are never labelled SIMULATED
    target.simulated = target.started_embedded or discover.is_simulated(target.connection)
    return target


@contextlib.contextmanager
def open_target(
    cluster: str = "sim:seed-mixed", kubeconfig: str = "", context: str = "", seed: int = 0
) -> Iterator[Target]:
    """`connect_target` as a context manager for a verb that needs a cluster: `local` is refused (the local
    kernel lab has none); the embedded cluster, if one was started, stops at the end."""
    if parse(cluster).kind == "local":
        raise InputError(
            "--cluster local is the local kernel lab, which has no cluster: this command needs one "
            "(sim:<profile>, kube or kube:<context>); for host-level measurements use `cilium-lab local`"
        )
    target = connect_target(cluster, kubeconfig, context, seed)
    try:
        yield target
    finally:
        target.close()


@contextlib.contextmanager
def embedded_kubeconfig(profile: str, seed: int = 0) -> Iterator[str]:
    """Start an embedded cluster for a batch of labs (this run's own: it gets the ledger) and yield its
    kubeconfig path."""
    from cilium_lab.sim.cluster import EmbeddedCluster

    with EmbeddedCluster(profile=profile, seed=seed) as embedded:
        _start_ledger(embedded)
        yield str(embedded.kubeconfig)


LEDGER_NAMESPACE, LEDGER = "kube-system", "cilium-lab-series"


def _start_ledger(embedded: EmbeddedCluster) -> None:
    # written by the run that started the cluster, before anyone connects: the batch's own process then
    # never imports the Kubernetes client (its labs read and write the ledger through the client as usual)
    embedded.add_configmap(LEDGER_NAMESPACE, LEDGER, {"owner": "one cilium-lab run", "done": ""})


def series_done(target: Target) -> set[int] | None:
    """The step numbers that have had their turn on this run's own embedded cluster; None when the cluster
    is not one run's own (a real cluster, `sim serve`, no ledger): then nothing is ever caught up."""
    if target.spec.kind != "sim" or not target.simulated or target.connection is None:
        return None
    from cilium_lab.cluster import apierrors, configmaps

    try:
        ledger = configmaps.read(target.connection, LEDGER_NAMESPACE, LEDGER)
    except apierrors.NotFound:
        return None
    return {int(n) for n in ledger.data.get("done", "").split(",") if n.strip().isdigit()}


def mark_done(target: Target, numbers: set[int]) -> None:
    """Add `numbers` to the ledger of this run's own embedded cluster (no-op elsewhere)."""
    done = series_done(target)
    if done is None:
        return
    from cilium_lab.cluster import configmaps

    text = ",".join(str(n) for n in sorted(done | numbers))
    configmaps.patch(target.connection, LEDGER_NAMESPACE, LEDGER, {"done": text})


def _start_embedded(target: Target, profile: str, seed: int) -> None:
    from cilium_lab.sim.cluster import EmbeddedCluster

    embedded = EmbeddedCluster(profile=profile, seed=seed)
    embedded.start()
    target.kubeconfig = str(embedded.kubeconfig)
    target.context = ""
    target._closers.append(embedded.stop)
    target.started_embedded = True
    atexit.register(embedded.stop)
    _start_ledger(embedded)
