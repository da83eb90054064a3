"""Everything that talks to a Kubernetes cluster, real or embedded, through the official `kubernetes`
client: connecting, discovering the Cilium install, snapshots of nodes and config, ConfigMaps and
CiliumNodeConfigs, agent rollouts, exec into pods, benchmark workloads and privileged host pods.

The rest of the package reaches a cluster only through these modules (`.importlinter` enforces that
`kubernetes` is imported nowhere else); failures surface as one-line `ClusterError`s (`apierrors`).
"""
