"""The change flow: plan -> confirm -> apply -> verify -> roll back (modules `plan`, `apply`, `restarts`,
`verify`, `backup`, `lock`, `outcomes`, `render`).

Used by the lab session, the confirmation widget and the CLI; reaches the cluster only through
`cilium_lab.cluster`.
"""
