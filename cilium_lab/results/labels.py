"""Where a number was measured: the label every result, table, figure and record carries.

Imported by `results.store` (each sample row says it) and `targets` (each target says it); imports
nothing, so naming a label costs no pandas import.
"""

SIMULATED, LIVE, LOCAL_KERNEL = "SIMULATED", "LIVE CLUSTER", "LOCAL KERNEL"
LABELS = (SIMULATED, LIVE, LOCAL_KERNEL)
