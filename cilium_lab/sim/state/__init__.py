"""What an embedded cluster is made of: its profile, its nodes' host settings and its API objects.

Cluster profiles (nodes, hardware, Cilium install; YAML in data/profiles), each node's mutable host
settings, the served resource types, the object store (one resourceVersion counter, one lock, a
bounded event log), admission (validation and defaulting), label and field selectors, the three
PATCH flavours, RBAC evaluated from stored objects, and errors shaped like kube-apiserver's `Status`.
Nothing here knows HTTP or Cilium. Simplifications: no finalizers, managedFields or aggregated
ClusterRoles; only the admission checks listed in `admission`.
"""
