"""Files a crash must not leave half written: the backups, the journals, a lab's result record.

`write_atomic` writes a temporary file in the same folder, flushes and fsyncs it, renames it over the
target (`os.replace`: a reader sees the old file or the new one, never a mix) and fsyncs the folder so
the rename itself survives a power cut (the pattern of rename(2) and fsync(2) on POSIX file systems).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomic(path: str | Path, text: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return target
