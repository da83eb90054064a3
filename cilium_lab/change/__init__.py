"""The change flow: plan -> confirm -> apply -> verify -> roll back (modules `plan`, `apply`, `restarts`,
`verify`, `backup`, `lock`, `outcomes`, `render`), and putting a backup back later: `restore` (with
`backup_format`, `backup_diff`, `restore_write`, `restore_verify`, `restore_report`).

Used by the lab session, the confirmation widget and the CLI; reaches the cluster only through
`cilium_lab.cluster`.
"""
