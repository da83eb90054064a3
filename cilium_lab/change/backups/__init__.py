"""The saved Cilium config: a backup's format (`backup_format`), saving and loading it (`backup`), what
restoring it would change (`backup_diff`), pruning old ones (`backup_prune`), and restoring one
(`restoring`, with `restore_write`, `restore_verify` and `restore_report`)."""
