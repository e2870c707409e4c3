"""Check before a big allocation that the host has the memory, instead of failing (or swapping) half-way."""

import os
from typing import Optional

__all__ = ['available_memory', 'check_memory']

_MEMINFO = '/proc/meminfo'


def available_memory() -> Optional[int]:
    """Bytes of memory available to new allocations without swapping, or None where it cannot be told.

    Returns:
        Linux's ``MemAvailable``, else free physical pages times the page size (POSIX), else None.
    """
    try:
        with open(_MEMINFO, encoding='ascii') as meminfo:
            for line in meminfo:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(needed: int, what: str, advice: str) -> None:
    """Raise a clear error when ``needed`` bytes are more than the host has available.

    Args:
        needed: Bytes the work will allocate.
        what: What needs them, e.g. ``'the 80000x80000 output'``.
        advice: What the user can do instead.

    Raises:
        MemoryError: Not enough memory; the message says how much is needed and available, and what to do.
    """
    available = available_memory()
    if available is not None and needed > available:
        raise MemoryError(
            f'{what} needs about {needed / 2**30:.1f} GiB of memory, but only '
            f'{available / 2**30:.1f} GiB is available: {advice}.'
        )
