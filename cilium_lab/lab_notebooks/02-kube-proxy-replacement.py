# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 02 Full kube-proxy replacement
#
# kube-proxy programs every Service as iptables (or IPVS) rules that each new connection walks.
# Cilium's kube-proxy replacement serves ClusterIP, NodePort, LoadBalancer and externalIPs from eBPF
# maps, at the socket for local clients (socket LB) and at tc for the rest. It is the foundation of
# most later steps: eBPF masquerading, the conntrack bypass, BPF host routing, BIG TCP, XDP and DSR all
# need it.
#
# The value was `strict` up to 1.13 and became `true` in 1.14; the old values were removed in 1.16
# (cilium/cilium#26577, #31286). On K3s the built-in kube-proxy has to be switched off as well
# (`--disable-kube-proxy`), and the agents must reach the API server without kube-proxy
# (`k8sServiceHost`/`k8sServicePort`).

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
canary_nodes: str = ""  # nodes to change first (CiliumNodeConfig), comma list; empty: all

# %%
from cilium_lab import session

lab = session.start(
    "02-kube-proxy-replacement",
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
