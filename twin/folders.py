"""Output folders: sop-twin replaces a folder only when it wrote that folder.

Every folder sop-twin writes (a run, a plan, a forecast, a report or a comparison) holds
a marker file, :data:`MARKER`. A command given ``--out DIR`` checks DIR before it does any
work: a folder that does not exist, an empty one, or one with the marker may be written;
any other (a user's documents, ``..``, the scenarios folder) is refused with an error that
names it, and nothing in it is touched.
"""

from __future__ import annotations

from pathlib import Path

from twin.errors import InputError, Problem

MARKER = ".sop-twin"
_TEXT = "This folder was written by sop-twin, which may replace it when asked to write here again.\n"


def check_writable(folder: str | Path) -> Path:
    """``folder`` if sop-twin may write it (module docstring), else an :class:`InputError`."""
    folder = Path(folder)
    if not folder.exists():
        return folder
    if not folder.is_dir():
        raise InputError([Problem(str(folder), "", "is a file, not a folder: give a folder for the output")])
    if (folder / MARKER).is_file() or not any(folder.iterdir()):
        return folder
    raise InputError([Problem(str(folder), "", f"holds files sop-twin did not write (no {MARKER} file in it), and "
                                               "sop-twin never deletes or overwrites what it did not write: give a "
                                               "new or empty folder (a folder an older sop-twin wrote: delete it "
                                               "yourself)")])


def mark(folder: Path) -> None:
    """Mark ``folder`` (it exists) as one sop-twin wrote."""
    (folder / MARKER).write_text(_TEXT)
