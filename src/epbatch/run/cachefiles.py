"""Files in epbatch's cache folder (``EPBATCH_CACHE_DIR``): private to the user, written whole."""

import os
import stat
from pathlib import Path


def owned_and_private(path: Path) -> bool:
    """Whether ``path`` belongs to this user and nobody else can write it (raises if missing)."""
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def write_private(path: Path, data: bytes) -> bool:
    """Write ``path`` atomically, mode 0600 in a 0700 folder; ``False`` if the disk refuses
    (a read-only home or a full disk only costs the cache)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(data)
        partial.replace(path)
    except OSError:
        return False
    return True
