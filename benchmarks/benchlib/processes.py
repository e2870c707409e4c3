"""Ending what a run started outside Python's own children: every process whose command line names a marker."""

import os

__all__ = ['end_process_trees']


def end_process_trees(marker: str) -> None:
    """Kill every process whose command line holds ``marker`` (e.g. a Ray cluster's temporary folder), with all its
    descendants, and wait for them.

    Args:
        marker: A string only the processes to end have in their command line.
    """
    import psutil

    roots = [
        process
        for process in psutil.process_iter(['cmdline'])
        if process.pid != os.getpid() and any(marker in part for part in process.info['cmdline'] or ())
    ]
    doomed = set(roots)
    for root in roots:
        try:
            doomed.update(root.children(recursive=True))
        except psutil.Error:
            pass
    for process in doomed:
        try:
            process.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(list(doomed), timeout=10)
