"""Atomic file output: write under a temporary name beside the destination, rename into place when complete.

A crash, an exception or a full disk then never leaves a truncated file under the final name, and the temporary
file is removed on failure, so nothing half-written stays behind either.
"""
import contextlib
import os
import uuid
from typing import Iterator

__all__ = ['atomic_output']


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Give a temporary path to write ``path``'s content to; it replaces ``path`` when the block succeeds.

    The destination folder is created when missing. The temporary file sits in the same folder (so the final
    rename is atomic), is hidden, and keeps the destination's extension (so encoders that choose the format by
    extension still work).

    Args:
        path: Final destination.

    Yields:
        The temporary path to write to.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(path)
    extension = os.path.splitext(name)[1]
    temporary = os.path.join(folder, f'.{name}.{uuid.uuid4().hex[:8]}.partial{extension}')
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
