"""A Cilium config change: plan it (`planning`, `scope`), show it (`plans`), apply it with a backup and a
rollback (`applying`), and check each node afterwards (`verification`)."""
