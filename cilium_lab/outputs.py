"""Where a command writes: checked before anything is measured, created only when it writes, and no
file the user did not name is overwritten.

`check_folder` refuses an output folder that is a file, or whose nearest existing parent is not a
writable folder, without creating anything. `undo_new_folders` removes the folders a refused command
created (only those it created, and only if still empty), so a refusal leaves the disk as it was.
`place` writes an output where asked only when nothing is there or an earlier output of ours is, else
beside it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from cilium_lab.errors import InputError


def check_folder(path: str | os.PathLike[str], option: str) -> Path:
    """`path` as a folder this user can write into (created later, when written); else one InputError line."""
    folder = Path(path).expanduser()
    if not str(path).strip():
        raise InputError(f"{option} must name a folder, got an empty string")
    if folder.exists() and not folder.is_dir():
        raise InputError(
            f"{option} {str(path)!r} is a file, not a folder: name a folder (created if missing)"
        )
    existing = folder
    while not existing.exists():  # the nearest parent that exists decides whether we can create it
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(
            f"{option} {str(path)!r} cannot be created: {str(existing)!r} is a file, not a folder"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(
            f"{option} {str(path)!r} is not writable here ({str(existing)!r}): choose another folder"
        )
    return folder


@contextlib.contextmanager
def undo_new_folders(*paths: str | os.PathLike[str]) -> Iterator[None]:
    """On any exception (a refusal, an error, Ctrl-C), remove the folders under `paths` that did not
    exist before and are still empty: a refused command leaves no stray folder behind."""
    missing: list[Path] = []
    for path in paths:
        folder = Path(path).expanduser().absolute()
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
    try:
        yield
    except BaseException:
        for folder in sorted(set(missing), key=lambda p: len(p.parts), reverse=True):  # deepest first
            _remove_empty_tree(folder)
        raise


def _remove_empty_tree(folder: Path) -> None:
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            _remove_empty_tree(child)
    with contextlib.suppress(OSError):
        folder.rmdir()  # fails, and stays, when anything was written inside


def place(path: Path, ours: Callable[[Path], bool]) -> Path:
    """Where to write `path`: there when it is free or holds an earlier output of ours (`ours` says), else
    beside it, so a file the user did not name as output is never overwritten."""
    return path if not path.exists() or (path.is_file() and ours(path)) else beside(path)


def head_has(path: Path, marker: str, size: int = 8192) -> bool:
    """Whether `marker` is in the first `size` bytes of the file (how an earlier output of ours is known)."""
    try:
        with path.open("rb") as handle:
            return marker.encode() in handle.read(size)
    except OSError:
        return False


def beside(path: Path) -> Path:
    """`path` if nothing is there, else the first free `stem-2.suffix`, `stem-3.suffix`, ... beside it."""
    if not path.exists():
        return path
    for n in range(2, 10_000):
        other = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not other.exists():
            return other
    raise InputError(f"too many files named like {str(path)!r}: clear out {str(path.parent)!r}")
