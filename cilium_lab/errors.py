"""The error a user sees.

Every failure caused by input or by the cluster's state is a `LabError`: one line that says what is
wrong and what to do. The command line prints it without a traceback; notebooks show it as the cell's
error. Each layer defines its own subclasses here so callers can catch one family.
"""


class LabError(Exception):
    """A failure the user can act on; `str(err)` is a single line that says what to do.

    `exit_code` is the `cilium-lab` exit status it ends a verb with (README, "Exit codes")."""

    exit_code = 2


class InputError(LabError, ValueError):
    """A parameter or argument is wrong (type, range, unknown name). Nothing was changed."""


class ClusterError(LabError):
    """The cluster could not be reached, or refused, or is not in a state we can work with."""

    exit_code = 3  # the cluster stopped us before any change (README, "Exit codes")


class UnsupportedSetting(InputError):
    """A Cilium version does not accept this setting or value."""


class StatusParseError(LabError, ValueError):
    """Text given to the status parser is not Cilium status output."""
