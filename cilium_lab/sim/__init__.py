"""The embedded cluster: a Kubernetes API server emulator on 127.0.0.1 with emulated Cilium agents.

Stands apart from the rest of the package: nothing outside `sim/` knows a cluster is simulated, and
only `cilium_lab.targets` starts one (for a `sim:<profile>` target). Everything measured here is
SIMULATED.

Split in layers, each importing only the ones below it (an import-linter contract keeps it so):
`cluster` (start and stop) -> `api` (the HTTP surface) -> `control` (the control plane) -> `shell`
(commands in pods) -> `perf` (the performance model) -> `agent` (the emulated Cilium agent) ->
`state` (profiles and stored objects). `profiles` is re-exported here: it names the shipped profiles.
"""

from cilium_lab.sim.state import profiles

__all__ = ["profiles"]
