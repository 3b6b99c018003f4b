"""Errors of the lab tooling: a message a person understands and an exit code."""


class LabError(Exception):
    """A lab command failed; `exit_code` is what `lab/lab` returns."""

    exit_code = 1


class NotRootError(LabError):
    """The lab needs root (namespaces, bridges, mounts)."""

    exit_code = 4


class MissingPackageError(LabError):
    """A binary the lab needs is not installed (run scripts/bootstrap)."""

    exit_code = 5


class NotUpError(LabError):
    """The command needs a running lab."""

    exit_code = 3


class AlreadyUpError(LabError):
    """`up` refused: a lab is already recorded in the state directory."""

    exit_code = 2
