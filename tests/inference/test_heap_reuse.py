"""realesrgan/inference/heap_reuse.py: freed large blocks are reused without page faults, and the switch works."""

import resource
import sys
from pathlib import Path
from typing import Tuple

import pytest
import torch
from helpers import run_python

from realesrgan.inference import heap_reuse
from realesrgan.inference.heap_reuse import ENV_SWITCH, keep_freed_memory

pytestmark = pytest.mark.skipif(heap_reuse._glibc() is None, reason='needs glibc (Linux)')

# Above glibc's largest mmap threshold (32 MiB): always mmap by default; below the 64 MiB heaps of the per-thread
# arenas, so the block is reused whichever arena serves this thread.
BLOCK_BYTES = 40 * 2**20
THP_SETTING = '/sys/kernel/mm/transparent_hugepage/enabled'


def fault_granularity() -> int:
    """Bytes per page fault of a large anonymous mapping: 2 MiB with transparent huge pages always on, else a page."""
    try:
        with open(THP_SETTING, encoding='ascii') as handle:
            if '[always]' in handle.read():
                return 2 * 2**20
    except OSError:
        pass
    return resource.getpagesize()


def fewest_faults_of_reallocation() -> int:
    """Fewest minor page faults of allocating and touching a large block again, over a few rounds.

    torch asks for 64-byte aligned blocks, which glibc serves from a slightly larger free chunk: the first freed
    block may not fit the next request until it merges with a neighbour, hence warm-up rounds and the minimum.
    """
    counts = []
    for _ in range(6):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        torch.empty(BLOCK_BYTES // 4).fill_(1.0)
        counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return min(counts[2:])


@pytest.fixture
def restore_setting():
    was_kept = heap_reuse._kept
    yield
    keep_freed_memory(was_kept)


def fault_counts() -> Tuple[int, int]:
    """Fewest faults of a reallocation with glibc's defaults, then with freed memory kept, in this process."""
    assert keep_freed_memory(False) is False
    default_faults = fewest_faults_of_reallocation()
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # idempotent
    return default_faults, fewest_faults_of_reallocation()


@pytest.mark.subprocess
def test_kept_memory_is_reused_without_page_faults():
    """Measured in a fresh interpreter: in the test process, freed blocks that earlier tests left in the heap can
    serve the reallocation without faults even with glibc's defaults."""
    here = Path(__file__).resolve().parent
    result = run_python(f"""
        import sys
        sys.path[:0] = [{str(here.parent)!r}, {str(here)!r}]
        from test_heap_reuse import fault_counts
        print(*fault_counts())
    """)
    assert result.returncode == 0, result.stderr
    default_faults, kept_faults = (int(count) for count in result.stdout.split())
    pages = BLOCK_BYTES // fault_granularity()
    assert default_faults > pages // 4, f'{default_faults} faults for {pages} pages with glibc defaults'
    assert kept_faults <= pages // 100, f'{kept_faults} faults for {pages} pages with freed memory kept'


def test_environment_switch_turns_it_off(restore_setting, monkeypatch):
    keep_freed_memory(False)
    monkeypatch.setenv(ENV_SWITCH, '0')
    assert keep_freed_memory() is False
    assert heap_reuse._kept is False
    monkeypatch.setenv(ENV_SWITCH, '1')
    assert keep_freed_memory() is True


def test_not_applied_without_glibc(restore_setting, monkeypatch):
    keep_freed_memory(False)
    monkeypatch.setattr(sys, 'platform', 'darwin')
    assert keep_freed_memory() is False
