"""The performance model: a network path and a netperf or iperf3 test -> the expected result, plus noise.

A node's hardware class gives reference rates; each effect a path takes (host routing, conntrack,
tunnel, MTU, BIG TCP, service translation, kernel preemption, host tuning) multiplies them; CPU
scaling, congestion under loss and the NIC's line rate shape the aggregate; a seeded draw turns the
expectation into one run. Every number comes from data/perfmodel.yaml beside its source.
Simplifications: no packet or queue simulation, independent multipliers, symmetric directions, no
CPU accounting. Everything it produces is SIMULATED.
"""
