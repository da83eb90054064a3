# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 04 NodePort direct server return (DSR)
#
# With SNAT (the default), a NodePort request that lands on one node and is served by a pod on
# another returns through the first node. With DSR the backend answers the client directly, saving
# a hop and keeping the client's source address. DSR needs native routing (from 1.14 also Geneve with
# Geneve dispatch, cilium/cilium#23890) and kube-proxy replacement. The IP-option dispatch can be
# dropped by some cloud fabrics (cybozu-go/neco#2140).
#
# The measurement here is pod to service; DSR changes the NodePort path from outside the cluster,
# which the pod-to-pod benchmark does not exercise, so expect no detectable change in it.

# %% tags=["parameters"]
cluster: str = "sim:seed-mixed"  # sim:<profile> (embedded), kube, kube:<context> or local
kubeconfig: str = ""  # kubeconfig path; empty: $KUBECONFIG or ~/.kube/config
approve: bool = False  # apply without a click; headless without it changes nothing
results_dir: str = "runs"  # folder for result records and samples
seed: int = 0  # seed of the embedded cluster's measurements
samples: int = 5  # samples per test, before and after
duration: int = 10  # seconds per netperf run
tests: str = "TCP_STREAM,TCP_RR,TCP_CRR"  # comma list of TCP_STREAM, TCP_STREAM_MULTI, TCP_RR, TCP_CRR
scenario: str = "pod-to-service"  # pod-to-pod, pod-to-pod-same-node, host-to-host, pod-to-service
canary_nodes: str = ""  # nodes to change first (CiliumNodeConfig), comma list; empty: all

# %%
from cilium_lab import session

lab = session.start(
    "04-nodeport-dsr",
    cluster=cluster, kubeconfig=kubeconfig, approve=approve, results_dir=results_dir, seed=seed,
    samples=samples, duration=duration, tests=tests, scenario=scenario, canary_nodes=canary_nodes,
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

# %%
lab.finish()
