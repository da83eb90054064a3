"""The error a user sees.

Every failure caused by input or by the cluster's state is a `LabError`: one line that says what is
wrong and what to do. The command line prints it without a traceback; notebooks (papermill too) show
it as the cell's error, this line alone with no frames. Each layer defines its own subclasses here so
callers can catch one family.
"""


class LabError(Exception):
    """A failure the user can act on; `str(err)` is a single line that says what to do.

    `exit_code` is the `cilium-lab` exit status it ends a verb with (README, "Exit codes")."""

    exit_code = 2

    def _render_traceback_(self) -> list[str]:
        # IPython shows what this returns instead of the frames (IPython.core.interactiveshell:
        # showtraceback), and a kernel's error reply carries it as the traceback papermill prints
        return [f"{type(self).__name__}: {self}"]


class InputError(LabError, ValueError):
    """A parameter or argument is wrong (type, range, unknown name). Nothing was changed."""


class ClusterError(LabError):
    """The cluster could not be reached, or refused, or is not in a state we can work with."""

    exit_code = 3  # the cluster stopped us before any change (README, "Exit codes")


class UnsupportedSetting(InputError):
    """A Cilium version does not accept this setting or value."""


class StatusParseError(LabError, ValueError):
    """Text given to the status parser is not Cilium status output."""
