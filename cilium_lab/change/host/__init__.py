"""Lab 15's host tuning per node through a privileged pod (`tuning`), one node's host settings and the
commands that set them (`host_node`), and putting saved host settings back (`host_restore`)."""
