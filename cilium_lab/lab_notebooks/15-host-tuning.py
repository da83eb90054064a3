# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 15 Host tuning: tuned profile, CPU governor, irqbalance and IRQ pinning
#
# The tuning guide's "further considerations": the `network-latency` (or `network-throughput`) tuned
# profile, the `performance` CPU governor, and irqbalance stopped with the NIC's interrupts pinned to
# chosen CPUs. None of this is Cilium, none of it persists unless the OS is configured to keep it, and
# cpufreq is often absent on VMs. This lab inspects each node, prints the exact commands, and
# changes a node only through a privileged path you approve explicitly.

# %% tags=["parameters"]
cluster: str = "sim:seed-mixed"  # sim:<profile> (embedded), kube, kube:<context> or local
kubeconfig: str = ""  # kubeconfig path; empty: $KUBECONFIG or ~/.kube/config
approve: bool = False  # apply without a click; headless without it changes nothing
results_dir: str = "runs"  # folder for result records and samples
seed: int = 0  # seed of the embedded cluster's measurements
samples: int = 5  # samples per test
duration: int = 10  # seconds per netperf run
tests: str = "TCP_RR,TCP_STREAM"  # comma list of TCP_STREAM, TCP_STREAM_MULTI, TCP_RR, TCP_CRR
scenario: str = "pod-to-pod"  # pod-to-pod, pod-to-pod-same-node, host-to-host, pod-to-service
profile: str = "network-latency"  # tuned profile to apply: network-latency or network-throughput

# %%
from cilium_lab import session

lab = session.start(
    "15-host-tuning",
    cluster=cluster, kubeconfig=kubeconfig, approve=approve, results_dir=results_dir, seed=seed,
    samples=samples, duration=duration, tests=tests, scenario=scenario, profile=profile,
)

# %% [markdown]
# ## 1. The hosts as they are
# Tuned profile, CPU governor, irqbalance and the NIC's IRQ affinity, per node.

# %%
lab.about()

# %%
lab.node_report()

# %% [markdown]
# ## 2. Baseline

# %%
lab.measure("before")

# %% [markdown]
# ## 3. The commands, and the approved privileged path
# The exact commands per node. With a click on **Apply** (or `approve=True`), they run on each
# node through a privileged pod in the host's namespaces, and the lab reads the result back.

# %%
lab.node_commands()

# %%
lab.confirm()

# %% [markdown]
# ## 4. After, and the comparison

# %%
lab.verify()

# %%
lab.measure("after")

# %%
lab.compare()

# %% [markdown]
# ## 5. Record

# %%
lab.finish()
