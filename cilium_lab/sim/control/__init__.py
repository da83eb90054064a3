"""The embedded cluster's control plane: the backend that ties a cluster together, and what acts on it.

The backend (store, profile, users, faults, virtual clock, seeded randomness, agent boots, host
settings), the objects a fresh install holds, the DaemonSet controller with its rolling update, the
scheduler and kubelets (pod placement, container starts, crash loops), Events, switchable faults,
the hand-over to the agent and the shell, and saving and restoring a cluster's state. Simplifications:
no ControllerRevisions, maxSurge or graceful deletion; no operator, CoreDNS or kube-proxy pods;
containers start after a fixed delay.
"""
