"""The emulated node side of a real Kubernetes control plane, as kwok runs nodes beside a real API server.

A real kube-apiserver, controller manager and scheduler (the Go program `controlplane/`, started by `process`)
hold the objects, run the DaemonSet controller, RBAC, admission and CRDs; this package is everything on the
nodes' side, made of the emulator's own code: the profile's nodes register and keep Ready (`nodes`), the
objects the kubelets and agents read are mirrored into an emulator `Backend` whose kubelet logic starts,
crash-loops and readies the pods bound to those nodes, with the results written back as pod status
(`mirror`), and exec and logs the control plane's kubelet endpoints forward are answered by the emulator's
shell (`shell_server`). `install` puts the profile's Cilium install on the real API server; `cluster` runs it
all (`cilium-lab sim serve --control-plane real`). Everything measured there is still SIMULATED: the nodes
and the datapath are the emulator's.
"""
