"""The embedded cluster: a Kubernetes API server emulator on 127.0.0.1 with emulated Cilium agents.

Stands apart from the rest of the package: nothing outside `sim/` knows a cluster is simulated, and
only `cilium_lab.targets` starts one (for a `sim:<profile>` target). Everything measured here is
SIMULATED.
"""
