# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 08 Hubble overhead, and why to keep it
#
# Hubble gives flow visibility from the same eBPF events the datapath emits. The tuning guide puts
# its cost at 1-15% depending on traffic and aggregation, and recommends first raising
# `hubble.eventQueueSize`, lengthening `bpf.events.monitorInterval` and rate-limiting events before
# turning it off ([tuning guide](https://docs.cilium.io/en/stable/operations/performance/tuning/)).
#
# This lab measures the cost on this cluster by switching Hubble off, then (by default) switches it
# back on: visibility is usually worth the few percent. Set `keep_disabled=True` to leave it off.

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
keep_disabled: bool = False  # leave Hubble off after measuring; by default it is switched back on
canary_nodes: str = ""  # nodes to change first (CiliumNodeConfig), comma list; empty: all

# %%
from cilium_lab import session

lab = session.start(
    "08-hubble-overhead",
    cluster=cluster, kubeconfig=kubeconfig, approve=approve, results_dir=results_dir, seed=seed,
    samples=samples, duration=duration, tests=tests, scenario=scenario, keep_disabled=keep_disabled,
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
# ## 9. Switch Hubble back on
# Unless `keep_disabled=True`, the change is undone: the same approval covered switching Hubble
# off for the measurement and back on afterwards.

# %%
lab.restore()

# %% [markdown]
# ## 10. Record
# The decision, the per-node outcome and the comparison go to a result record; lab 99 reads them.

# %%
lab.finish()
