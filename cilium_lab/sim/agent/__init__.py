"""The emulated Cilium agent: how a requested configuration becomes the datapath a node runs, and how
the agent reports it.

Start-up rules per version (config keys, fallbacks, fatal errors), the effective datapath of a node,
the records the agent shares with the control plane, the shell and the performance model (`runtime`),
and `cilium-dbg status` as text (with Go's tabwriter alignment), JSON and YAML. Simplifications: the
agent starts instantly; one device per node; IPv4 pod traffic; no IPsec, WireGuard or CNI chaining;
status counters are plausible constants.
"""
