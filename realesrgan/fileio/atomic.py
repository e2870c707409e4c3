"""Atomic file output: write under a temporary name beside the destination, rename into place when complete.

A crash, an exception or a full disk then never leaves a truncated file under the final name, and the temporary
file is removed on failure, so nothing half-written stays behind either. A process killed outright (SIGKILL)
cannot remove its temporary file: the name carries the writer's process id, and
:func:`remove_stale_partials` deletes the ones whose writer is gone (the jobs call it on their output folder).
"""

import contextlib
import os
import re
import uuid
from typing import Iterator, List

__all__ = ['atomic_output', 'check_writable', 'remove_stale_partials']

# .<destination name>.<writer pid>.<8 hex digits>.partial<destination extension>
_PARTIAL = re.compile(r'^\..+\.(\d+)\.[0-9a-f]{8}\.partial(\.[^.]*)?$')


@contextlib.contextmanager
def atomic_output(path: str, durable: bool = False) -> Iterator[str]:
    """Give a temporary path to write ``path``'s content to; it replaces ``path`` when the block succeeds.

    The destination folder is created when missing. The temporary file sits in the same folder (so the final
    rename is atomic), is hidden, and keeps the destination's extension (so encoders that choose the format by
    extension still work).

    Args:
        path: Final destination.
        durable: Flush the file to the disk before the rename (and the folder after it), so that a power cut
            cannot leave an empty file under the final name; for checkpoints and weights.

    Yields:
        The temporary path to write to.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(path)
    extension = os.path.splitext(name)[1]
    temporary = os.path.join(folder, f'.{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial{extension}')
    try:
        yield temporary
        if durable:
            _fsync(temporary, os.O_RDONLY)
        os.replace(temporary, path)
        if durable and hasattr(os, 'O_DIRECTORY'):
            _fsync(folder, os.O_RDONLY | os.O_DIRECTORY)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)


def check_writable(path: str) -> None:
    """Check, before the work, that :func:`atomic_output` will be able to write ``path``.

    Probes the destination folder (or, when it does not exist yet, the nearest folder above it, where it would be
    created) by creating and removing a hidden file: permission bits, read-only mounts and full quotas all show.

    Args:
        path: The file to be written.

    Raises:
        OSError: It cannot be written; the message is one line naming the path and the reason.
    """
    if os.path.isdir(path):
        raise IsADirectoryError(f'cannot write {path}: it is a folder')
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise NotADirectoryError(f'cannot write {path}: {folder} is a file, not a folder')
    probe = os.path.join(folder, f'.write-check.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial')
    try:
        with open(probe, 'wb'):
            pass
    except OSError as error:
        raise type(error)(f'cannot write {path}: {error.strerror or error}') from None
    os.remove(probe)


def _fsync(path: str, flags: int) -> None:
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_partials(folder: str) -> List[str]:
    """Delete the temporary files of :func:`atomic_output` in ``folder`` whose writing process no longer runs.

    Args:
        folder: A folder written to with :func:`atomic_output` (missing folders are fine).

    Returns:
        The paths removed.
    """
    removed = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for name in os.listdir(folder):
            match = _PARTIAL.match(name)
            if match and not _running(int(match.group(1))):
                path = os.path.join(folder, name)
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    os.remove(path)
                    removed.append(path)
    return removed
