"""Errors a user can act on: every problem names its file, its place and what would be valid."""

from __future__ import annotations

import errno
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file.

    Parameters
    ----------
    file : str
        The file the problem is in.
    where : str
        The place inside it: ``"row 12, column hours_per_week"`` for a CSV table,
        a dotted YAML path such as ``"horizon.weeks"`` for a scenario.
    message : str
        What is wrong and, where there is a short list, what would be valid.
    """

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}" if self.where else f"{self.file}: {self.message}"


class InputError(Exception):
    """Bad input: carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class FolderBusy(Exception):
    """Another live process is writing the output folder (``twin.folders.Claim``)."""


def choices(values, limit: int = 12) -> str:
    """Format valid choices for a message, shortened when the list is long."""
    values = sorted(str(v) for v in values)
    shown = ", ".join(values[:limit])
    more = f", … ({len(values)} in all)" if len(values) > limit else ""
    return f"valid: {shown}{more}" if values else "there are none"


# errno values of an OSError that are the user's disk, not a bug: a located message, not an internal error
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
