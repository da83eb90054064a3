"""Where a number was measured: the label every result, table, figure and record carries.

Imported by `results.store` (each sample row says it) and `targets` (each target says it); imports
nothing, so naming a label costs no pandas import.
"""

SIMULATED, LIVE, LOCAL_KERNEL = "SIMULATED", "LIVE CLUSTER", "LOCAL KERNEL"
LABELS = (SIMULATED, LIVE, LOCAL_KERNEL)

# what a label means, where a table or figure says it
SIMULATED_NOTE = f"{SIMULATED}: measured on the embedded cluster's performance model, not on real hardware"
LOCAL_KERNEL_NOTE = f"{LOCAL_KERNEL}: real packets between network namespaces on this host, not a cluster"
