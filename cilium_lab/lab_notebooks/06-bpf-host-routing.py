# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 06 BPF host routing
#
# Even when Cilium routes in eBPF, packets to and from pods still climb through the host's network
# stack by default: iptables, netfilter connection tracking and the routing layer. BPF host routing
# (Cilium 1.9+) hands them from the pod's veth straight to the NIC with `bpf_redirect_peer` and
# `bpf_redirect_neigh`. Cilium's 1.9 release measured, pod to remote pod on a 5.10 kernel,
# single-stream throughput going from 10.6 to 21.8 Gbit/s and TCP_RR from 7.6k to 22.3k transactions
# per second ([Cilium 1.9 blog](https://cilium.io/blog/2020/11/10/cilium-19#veth)).
#
# It needs kernel 5.10 or newer, full kube-proxy replacement and eBPF masquerading (labs 02 and 03).
# Where a node cannot take it, the agent quietly falls back to `Legacy` ("Re-enabling host legacy
# routing as bypassing needs kernel 5.10.0 or newer", cilium/cilium#13330); this lab shows which
# nodes do, and why. Because Cilium turns it on by itself once labs 02 and 03 are in, the capable
# nodes usually have it already. Then, with `demonstrate` on (the default on the embedded cluster; on
# a real one it is off unless you set it, and needs approval like any change), the lab shows its
# effect as the article does, "Cilium" against "Cilium (Legacy Host Routing)": it pins
# `enable-host-legacy-routing: "true"` on those nodes, measures, puts the saved config back and
# measures again. Where an operator had pinned legacy host routing, the plain before and after show it.

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
demonstrate: "Optional[bool]" = None  # where the step is in effect already: switch it off and back on to measure it; None: on for the embedded cluster only
canary_nodes: str = ""  # nodes to change first (CiliumNodeConfig), comma list; empty: all

# %%
from cilium_lab import session

lab = session.start(
    "06-bpf-host-routing",
    cluster=cluster, kubeconfig=kubeconfig, approve=approve, results_dir=results_dir, seed=seed,
    samples=samples, duration=duration, tests=tests, scenario=scenario, demonstrate=demonstrate,
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
# Where a node cannot take this step, it stays on legacy host routing. There, bypassing iptables
# connection tracking (lab 05) recovers part of the cost, as the series advises; a kernel upgrade
# (lab 14) is the real fix.

# %%
lab.finish()
