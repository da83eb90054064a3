"""The emulated Cilium agent: how a requested configuration becomes the datapath a node runs, and how
the agent reports it.

Start-up rules per version (the keys each release reads in `startup_rules`; every fallback, log line
and fatal error as a sourced row of data/agent_rules.yaml, read by `rule_table`), the effective
datapath of a node, the records the agent shares with the control plane, the shell and the
performance model (`runtime`), and `cilium-dbg status` as text (with Go's tabwriter alignment), JSON
and YAML. Simplifications: the agent starts instantly; one device per node; IPv4 pod traffic; no
IPsec or WireGuard datapath (their keys only steer the start-up rules); no CNI chaining; status
counters are plausible constants.
"""
