"""Commands run inside emulated pods: a small sh and the tools the labs and benchmarks call.

The command table per image (agent, benchmark, other, host after nsenter), a POSIX-sh subset
(`;`, `&&`, `||`, pipes, `&` with `wait`, `$(...)`, redirections), the node's generated /proc and /sys
files, text tools, host and network views (`ip`, `iptables`, `sysctl`, `ethtool`, tuned-adm,
systemctl, cpupower), the in-agent Cilium CLI, and netperf/netserver/iperf3 with their output formats.
Simplifications: no variables, functions or loops in sh; only the files, options and subcommands
listed in each module exist.
"""
