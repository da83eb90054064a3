"""cilium-lab: a tuning lab for Cilium.

Each step of a Cilium network-performance tuning series is a parameterized notebook backed by this
library: it inspects a cluster, says per node what can be tuned, measures, applies a change after a
confirmation, verifies the agents' real state, measures again and compares.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
