# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 14 The kernel: version and preemption model
#
# Most of the series is gated by the kernel: 5.10 for BPF host routing, 5.18 for BBR, 5.19 and 6.3
# for BIG TCP, 6.8 for netkit. The tuning guide recommends the most recent LTS kernel and
# `CONFIG_PREEMPT_NONE=y`, "the recommended setting for server workloads"; the 2021 benchmark kernel
# was built with it. A kernel change is a node reboot, outside Cilium, so this lab inspects, explains,
# prints the commands and measures; it changes nothing by itself.

# %% tags=["parameters"]
cluster: str = "sim:seed-mixed"  # sim:<profile> (embedded), kube, kube:<context> or local
kubeconfig: str = ""  # kubeconfig path; empty: $KUBECONFIG or ~/.kube/config
approve: bool = False  # apply without a click; headless without it changes nothing
results_dir: str = "runs"  # folder for result records and samples
seed: int = 0  # seed of the embedded cluster's measurements
samples: int = 5  # samples per test
duration: int = 10  # seconds per netperf run
tests: str = "TCP_RR,TCP_CRR"  # comma list of TCP_STREAM, TCP_STREAM_MULTI, TCP_RR, TCP_CRR
scenario: str = "pod-to-pod"  # pod-to-pod, pod-to-pod-same-node, host-to-host, pod-to-service

# %%
from cilium_lab import session

lab = session.start(
    "14-kernel",
    cluster=cluster, kubeconfig=kubeconfig, approve=approve, results_dir=results_dir, seed=seed,
    samples=samples, duration=duration, tests=tests, scenario=scenario,
)

# %% [markdown]
# ## 1. What the kernel unlocks
# Each kernel-gated step of the series, per node: the threshold, the kernel the node runs, and the
# steps that a newer kernel would unblock.

# %%
lab.about()

# %%
lab.node_report()

# %% [markdown]
# ## 2. Baseline
# Request/response latency is where the preemption model shows.

# %%
lab.measure("before")

# %% [markdown]
# ## 3. What to do on each node
# The exact commands, per distribution. A kernel change reboots the node: drain it first, one node
# at a time. This lab runs none of them.

# %%
lab.node_commands()

# %% [markdown]
# ## 4. Record

# %%
lab.finish()
