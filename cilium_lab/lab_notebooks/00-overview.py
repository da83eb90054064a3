# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 00 Cluster overview and tuning scorecard
#
# Where the cluster stands before any tuning: the nodes (kernel, architecture, NIC driver, MTU),
# the Cilium version and configuration, what every agent reports, and a scorecard of all fifteen
# steps of the series per node: `enabled`, `can-enable`, `blocked` with the reason, or `n/a`.
# It ends with a baseline measurement that the summary (lab 99) uses as the start of the
# performance journey. This lab changes nothing.

# %% tags=["parameters"]
cluster: str = "sim:seed-mixed"  # sim:<profile> (embedded), kube, kube:<context> or local
kubeconfig: str = ""  # kubeconfig path; empty: $KUBECONFIG or ~/.kube/config
approve: bool = False  # apply without a click; headless without it changes nothing
results_dir: str = "runs"  # folder for result records and samples
seed: int = 0  # seed of the embedded cluster's measurements
samples: int = 5  # samples per test
duration: int = 10  # seconds per netperf run
tests: str = "TCP_STREAM,TCP_RR,TCP_CRR"  # comma list of TCP_STREAM, TCP_STREAM_MULTI, TCP_RR, TCP_CRR
scenario: str = "pod-to-pod"  # pod-to-pod, pod-to-pod-same-node, host-to-host, pod-to-service

# %%
from cilium_lab import session

lab = session.start(
    "00-overview",
    cluster=cluster, kubeconfig=kubeconfig, approve=approve, results_dir=results_dir, seed=seed,
    samples=samples, duration=duration, tests=tests, scenario=scenario,
)

# %% [markdown]
# ## 1. The nodes and their agents

# %%
lab.snapshot()

# %% [markdown]
# ## 2. The scorecard
# Every step of the series against every node. Hover a cell for the reasons.

# %%
lab.scorecard()

# %% [markdown]
# ## 3. Baseline
# The starting point of the performance journey.

# %%
lab.measure("baseline")

# %%
lab.finish()
