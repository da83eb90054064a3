# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 99 Summary: the checklist and the performance journey
#
# What the series achieved on this cluster: per step and per node whether it is done, blocked (and
# why) or not applicable, read from the agents as they run now, and the measurements of every lab
# in this results folder, step by step. On the series' own fleet the expected end state is BPF host
# routing on the x86 VMs (kernel 6.2) and legacy host routing plus the conntrack bypass on the
# arm64 boards (kernel 4.19).

# %% tags=["parameters"]
cluster: str = "sim:seed-mixed"  # sim:<profile> (embedded), kube, kube:<context> or local
kubeconfig: str = ""  # kubeconfig path; empty: $KUBECONFIG or ~/.kube/config
approve: bool = False  # apply without a click; headless without it changes nothing
results_dir: str = "runs"  # folder for result records and samples
seed: int = 0  # seed of the embedded cluster's measurements
samples: int = 5  # samples per test
duration: int = 10  # seconds per netperf run

# %%
from cilium_lab import session

lab = session.start(
    "99-summary",
    cluster=cluster, kubeconfig=kubeconfig, approve=approve, results_dir=results_dir, seed=seed,
    samples=samples, duration=duration,
)

# %% [markdown]
# ## 1. The checklist

# %%
lab.checklist()

# %% [markdown]
# ## 2. The performance journey
# The median of each rate after every step, relative to where the series started, from the
# samples the labs stored in this results folder (one line per test and node pair). The table
# below it gives each median with its 95 % bootstrap confidence interval.

# %%
lab.journey()

# %% [markdown]
# ## 3. How to undo the series
# Every change a lab applied first saved the Cilium config as it was, on disk and in the cluster. The
# earliest of those backups is the cluster before the series: the command below puts it back
# (cilium-config, the CiliumNodeConfigs and cilium-lab's node labels), after showing its plan.

# %%
lab.how_to_undo()

# %%
lab.finish()
