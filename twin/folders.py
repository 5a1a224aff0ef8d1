"""Output folders: sop-twin replaces a folder only when it wrote that folder, and only when asked.

Every folder sop-twin writes (a run, a plan, a forecast, a report or a comparison) holds
a marker file, :data:`MARKER`. A command given ``--out DIR`` checks DIR before it does any
work (:func:`check_out`): a folder that does not exist or an empty one may be written; one
with the marker and output in it only with ``--overwrite`` (or ``--resume``, for a run);
any other (a user's documents, ``..``, the scenarios folder) is refused with an error that
names it, and nothing in it is touched. A folder being filled has one writer at a time
(:class:`Claim`: a lock the operating system drops when its process dies, however it dies).
"""

from __future__ import annotations

import datetime as dt
import fcntl  # POSIX (Linux, macOS): flock, which a killed process cannot keep holding
import os
import shutil
import tempfile
from pathlib import Path

from twin.errors import FolderBusy, InputError, Problem

MARKER = ".sop-twin"
LOCK = ".lock"
MB = 1 << 20
LEAST_FREE = 64 * MB  # below this a disk is as good as full for any command's output
RUN_BYTES = 16 * MB  # a run folder's plan, forecast and tables (the reference network: 7 MB)
REPLICATION_BYTES = 128 << 10  # and per replication (the reference network: 50 KB of results, 10 KB of KPIs)
_TEXT = "This folder was written by sop-twin, which may replace it when asked to write here again.\n"


def check_writable(folder: str | Path) -> Path:
    """``folder`` if sop-twin may write into it at all (it wrote it, or it is new or empty),
    else an :class:`InputError`."""
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


def holds_output(folder: Path) -> bool:
    """``folder`` exists and holds more than sop-twin's own marker and lock files."""
    return folder.is_dir() and any(p.name not in (MARKER, LOCK) for p in folder.iterdir())


def run_bytes(replications: int) -> int:
    """About what a run folder of ``replications`` needs on disk, generously."""
    return RUN_BYTES + replications * REPLICATION_BYTES


def check_room(folder: Path, need: int = LEAST_FREE) -> None:
    """Before the work, an :class:`InputError` if ``folder`` cannot take the output: where it
    goes (the folder, and beside it, its ``.partial``) cannot be written (a read-only folder or
    disk), or its disk has less than ``need`` bytes free (at least :data:`LEAST_FREE`)."""
    place = folder.parent
    while not place.exists():  # the folders sop-twin will make
        place = place.parent
    for where in (place, folder) if folder.is_dir() else (place,):
        try:
            with tempfile.TemporaryFile(dir=where):  # unnamed where the OS can: nothing shows, nothing stays
                pass
        except OSError as exc:
            raise InputError([Problem(str(folder), "", f"cannot be written: {where}: {exc.strerror}; give an --out "
                                                       "where you may write")]) from None
    need = max(need, LEAST_FREE)
    free = shutil.disk_usage(place).free
    if free < need:
        raise InputError([Problem(str(folder), "", f"needs about {need / MB:,.0f} MB and its disk has "
                                                   f"{free / MB:,.0f} MB free: free some space, or give an --out on "
                                                   "another disk")])


def check_out(folder: str | Path, overwrite: bool = False, resumable: bool = False, need: int = LEAST_FREE) -> Path:
    """``folder`` if a command may write its output there (module docstring): what an earlier
    run wrote is replaced only when ``overwrite``; ``resumable``: the command has ``--resume``,
    which the message offers; and the place can take ``need`` bytes (:func:`check_room`)."""
    folder = check_writable(folder)
    if overwrite or not holds_output(folder):
        check_room(folder, need)
        return folder
    written = dt.datetime.fromtimestamp((folder / MARKER).stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    raise InputError([Problem(str(folder), "", f"holds the output of an earlier sop-twin command (written "
                                               f"{written}), which is replaced only when asked: add --overwrite "
                                               "to replace it (it stays as it is until the new output is "
                                               "complete)" + (", or --resume to continue or extend the runs in it"
                                                              if resumable else "") + ", or give another --out")])


def mark(folder: Path) -> None:
    """Mark ``folder`` (it exists) as one sop-twin wrote."""
    (folder / MARKER).write_text(_TEXT)


def start_partial(folder: Path, overwrite: bool) -> Path:
    """A fresh, marked ``<folder>.partial`` to write into, once both it and ``folder`` may be
    written (:func:`check_out`); a partial folder sop-twin left behind is discarded."""
    partial = check_writable(folder.with_name(folder.name + ".partial"))
    check_out(folder, overwrite)
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    mark(partial)
    return partial


def replace_folder(new: Path, folder: Path) -> None:
    """Move the finished ``new`` into ``folder``'s place, replacing ``folder`` only if sop-twin
    wrote it. The old folder is moved aside first and deleted last, so a crash in between
    leaves the old output beside the new, never neither."""
    if not check_writable(folder).exists():
        new.rename(folder)
        return
    old = folder.with_name(folder.name + ".replaced")
    if old.exists():  # a replacement cut off before its last step: ours only if it carries the marker
        if not (old / MARKER).is_file():
            raise InputError([Problem(str(old), "", "is in the way of replacing the folder beside it, and sop-twin "
                                                    "did not write it: move or delete it yourself")])
        shutil.rmtree(old)
    folder.rename(old)
    new.rename(folder)
    shutil.rmtree(old)


class Claim:
    """This process's exclusive right to write ``folder`` (it exists): an ``flock`` on
    ``folder/.lock``, which moves with the folder when it is renamed and which the operating
    system releases when the process ends, even by SIGKILL, so a dead writer never blocks
    the next. Raises :class:`FolderBusy` naming the process that holds it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._fd: int | None = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            raise FolderBusy(f"{folder} is being written by another sop-twin process (pid {holder}): wait for it "
                             "to finish, or give another --out") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        """Give the folder up (a second call does nothing). The lock file stays: deleting it
        while another process may be opening it would let two processes hold two locks."""
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
