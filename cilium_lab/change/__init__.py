"""Changing a cluster, only when approved, and putting it back.

Three kinds of change, each in its sub-package: `config` (a Cilium config change: plan -> confirm ->
apply -> verify -> roll back, scoped to the nodes that can take it or to a canary), `backups` (the
saved Cilium config: save, list, diff, prune, and restoring one), and `host` (lab 15's host tuning
and putting the saved host settings back). Each of them runs as one `transaction` (lock, backup,
intent `journal`, `cancellation` by Ctrl-C or SIGTERM, undo on any failure); `recovery` finishes the
undo of a run that died. What they share sits here: the per-node `outcomes`, the change `lock`, the
agents' `restarts`, the progress `recording`, our `node_labels`, crash-safe `files`, and the
`reports` of a change. Everything reaches the cluster through `cilium_lab.cluster`.
"""
