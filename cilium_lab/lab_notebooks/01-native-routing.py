# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 01 Native routing instead of a VXLAN tunnel
#
# A default Cilium install wraps every pod-to-pod packet between nodes in a VXLAN (or Geneve)
# header: 50 bytes less room for data in every packet, and an extra encapsulation and decapsulation
# on each side. With native routing the packets travel as they are, and the underlay routes pod
# CIDRs: with `autoDirectNodeRoutes` when all nodes share one L2 segment, otherwise through BGP or
# cloud routes.
#
# Up to Cilium 1.13 the setting is `tunnel: disabled`; from 1.14 it is `routing-mode: native`, and
# the `tunnel` key is gone in 1.15 (reference A.0; cilium/cilium#29053). This lab writes the keys
# of the version it finds. Status only shows the routing mode from 1.16 (`Routing: Network:
# Native`); before that the lab checks the config and the absence of `cilium_vxlan`.

# %% tags=["parameters"]
cluster: str = "sim:seed-mixed"  # sim:<profile> (embedded), kube, kube:<context> or local
kubeconfig: str = ""  # kubeconfig path; empty: $KUBECONFIG or ~/.kube/config
approve: bool = False  # apply without a click; headless without it changes nothing
results_dir: str = "runs"  # folder for result records and samples
seed: int = 0  # seed of the embedded cluster's measurements
samples: int = 5  # samples per test, before and after
duration: int = 10  # seconds per netperf run
tests: str = "TCP_STREAM,TCP_RR,TCP_CRR"  # comma list of TCP_STREAM, TCP_STREAM_MULTI, TCP_RR, TCP_CRR
scenario: str = "pod-to-pod"  # pod-to-pod, pod-to-pod-same-node, host-to-host, pod-to-service
pod_cidr: str = ""  # the pod CIDR the underlay routes; empty: read from cilium-config
canary_nodes: str = ""  # nodes to change first (CiliumNodeConfig), comma list; empty: all

# %%
from cilium_lab import session

lab = session.start(
    "01-native-routing",
    cluster=cluster, kubeconfig=kubeconfig, approve=approve, results_dir=results_dir, seed=seed,
    samples=samples, duration=duration, tests=tests, scenario=scenario, pod_cidr=pod_cidr,
    canary_nodes=canary_nodes,
)

# %% [markdown]
# ## 1. What this step needs, and its caveats
# The requirements, what must restart, and the sources, from the catalogue.

# %%
lab.about()

# %% [markdown]
# ## 2. The cluster as it is
# Kernel, architecture, NIC driver and MTU per node, and what each Cilium agent reports now.

# %%
lab.snapshot()

# %% [markdown]
# ## 3. Readiness per node
# `enabled`, `can-enable`, or `blocked` with the reason.

# %%
lab.readiness()

# %% [markdown]
# ## 4. Baseline
# netperf between benchmark pods, repeated, before anything changes.

# %%
lab.measure("before")

# %% [markdown]
# ## 5. The plan
# The ConfigMap change in this Cilium version's keys, the same as Helm values and as
# `cilium config set`, what restarts, and which nodes will refuse.

# %%
lab.plan()

# %% [markdown]
# ## 6. Confirm and apply
# Nothing changes without a click on **Apply** (or `approve=True` in a headless run). The previous
# config is saved first; if verification fails or the rollout stalls, it is restored.

# %%
lab.confirm()

# %% [markdown]
# ## 7. Verification
# What each agent really runs now, node by node.

# %%
lab.verify()

# %% [markdown]
# ## 8. After, and the comparison
# The same measurement again, then before against after with bootstrap confidence intervals.

# %%
lab.measure("after")

# %%
lab.compare()

# %% [markdown]
# ## 9. Record
# The decision, the per-node outcome and the comparison go to a result record; lab 99 reads them.
#
# The underlay must route the pod CIDRs. `auto-direct-node-routes` only works when the nodes
# share an L2 segment; with tunnelling it is a fatal agent error (cilium/cilium#15196).

# %%
lab.finish()
