"""Keep freed memory in the process for reuse, instead of giving it back to the OS after every layer.

A forward pass allocates and frees tens of large tensors (16-50 MB each for a 256 px image). glibc serves blocks
that large with ``mmap`` and returns them with ``munmap`` (or trims the heap top) when they are freed, so every
layer's output lands on fresh pages and pays a page fault per 4 KiB on first touch: 79,000 faults per
realesr-animevideov3 forward pass at 256 px, 416,000 for RealESRGAN_x4plus at 128 px. On this project's CPU virtual
machines, keeping freed memory made those passes 1.29x and 1.13x faster (``benchmarks/heap_reuse.py``). With mmap
off for large blocks and no heap trimming, freed blocks stay in the heap and the next layer reuses them: no faults,
same numbers.

The cost: the process keeps its peak heap size until it exits (other allocators, e.g. jemalloc, behave alike), and
the peak may be a little higher from fragmentation (RealESRGAN_x4plus at 256 px: 1149 instead of 1064 MiB). This
only applies to glibc (Linux); elsewhere it does nothing.
"""

import ctypes
import ctypes.util
import logging
import os
import sys
import threading
from typing import Optional

__all__ = ['ENV_SWITCH', 'keep_freed_memory']

logger = logging.getLogger(__name__)

# Set to 0 to leave the allocator alone (e.g. in a long-running service that must give memory back).
ENV_SWITCH = 'REALESRGAN_KEEP_FREED_MEMORY'

# mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
# mallopt takes a C int: the largest trim threshold it can hold, i.e. "never trim".
_NEVER_TRIM = 2**31 - 1
# glibc's defaults (DEFAULT_MMAP_MAX, DEFAULT_TRIM_THRESHOLD).
_DEFAULT_MMAP_MAX = 65536
_DEFAULT_TRIM_THRESHOLD = 128 * 1024

_lock = threading.Lock()
_kept = False


def _glibc() -> Optional[ctypes.CDLL]:
    if not sys.platform.startswith('linux'):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
    except OSError:
        return None
    # Only glibc has gnu_get_libc_version (musl's mallopt ignores these parameters).
    return libc if hasattr(libc, 'gnu_get_libc_version') else None


def keep_freed_memory(keep: bool = True) -> bool:
    """Make glibc keep freed large blocks for reuse, or go back to its defaults (process-wide, idempotent).

    Args:
        keep: True keeps freed memory; False restores glibc's defaults (large blocks by mmap, heap trimmed above
            128 KiB free) and returns the kept memory to the OS.

    Returns:
        Whether freed memory is kept after the call. Keeping is refused (False) on non-glibc platforms and when
        ``REALESRGAN_KEEP_FREED_MEMORY=0`` is set.
    """
    global _kept
    if keep and os.environ.get(ENV_SWITCH, '1').strip().lower() in ('0', 'false', 'no', 'off'):
        return False
    with _lock:
        if keep == _kept:
            return _kept
        libc = _glibc()
        if libc is None:
            return False
        settings = (
            ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _NEVER_TRIM))
            if keep
            else ((_M_MMAP_MAX, _DEFAULT_MMAP_MAX), (_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD))
        )
        # mallopt returns 1 on success.
        if not all(libc.mallopt(parameter, value) == 1 for parameter, value in settings):
            logger.debug('mallopt refused %s; the allocator settings are unchanged.', settings)
            return _kept
        if not keep:
            libc.malloc_trim(0)
        _kept = keep
        return _kept
