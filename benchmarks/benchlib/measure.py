"""Timing and memory measurement shared by every benchmark worker.

Standard library only at import time: the same file runs in the project's environment and in the virtual
environment that holds the original ``realesrgan==0.3.0`` package. A worker is started as
``python -m benchlib.<worker> job.json`` (:mod:`benchlib.workers`); it reads its job, runs the measured call once
to warm up and then ``repeats`` times, and writes the timings and its own peak resident memory to the result file
the job names. One configuration per process keeps the memory peaks apart.
"""

import json
import os
import resource
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

__all__ = ['time_calls', 'reseeded', 'peak_rss_mib', 'torch_threads', 'read_job', 'write_result', 'run_worker']


def time_calls(fn: Callable[[], Any], repeats: int) -> Tuple[List[float], Any]:
    """Call ``fn`` once to warm up, then ``repeats`` more times, timing each of those.

    Args:
        fn: The call to measure; takes no arguments.
        repeats: Number of timed calls after the warm-up (0 runs the warm-up only).

    Returns:
        The wall-clock seconds of each timed call and the result of the last call.
    """
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def reseeded(fn: Callable[[], Any], seed: int) -> Callable[[], Any]:
    """Wrap ``fn`` so that every call starts from the same state of Python's, NumPy's and torch's generators.

    NumPy and torch are imported only here, so that workers which do not need them (ncnn) do not pay their memory.

    Args:
        fn: The call to wrap.
        seed: Seed set before each call.

    Returns:
        The wrapped call.
    """
    import random

    import numpy as np
    import torch

    def call() -> Any:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        return fn()

    return call


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (``VmHWM`` on Linux, else ``ru_maxrss``)."""
    try:
        with open('/proc/self/status', encoding='ascii') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return maxrss / (1024 * 1024) if sys.platform == 'darwin' else maxrss / 1024


def torch_threads(job: Dict[str, Any]) -> int:
    """Give torch ``job['threads']`` intra-op threads when the job sets them (else its default); return the count."""
    import torch

    if job.get('threads'):
        torch.set_num_threads(job['threads'])
    return torch.get_num_threads()


def read_job(path: str) -> Dict[str, Any]:
    """Read a worker's job description (JSON)."""
    with open(path, encoding='utf-8') as handle:
        return json.load(handle)


def write_result(path: str, payload: Dict[str, Any]) -> None:
    """Write a worker's result (JSON) atomically, so that a crash never leaves half a file."""
    tmp_path = f'{path}.tmp'
    with open(tmp_path, 'w', encoding='utf-8') as handle:
        json.dump(payload, handle)
    os.replace(tmp_path, path)


def run_worker(handlers: Dict[str, Callable[[Dict[str, Any]], Dict[str, Any]]]) -> None:
    """Entry point of a worker module: ``python -m benchlib.<worker> job.json``.

    The job's ``task`` picks the handler; the handler returns ``times`` and any extra fields, to which this adds
    ``median_s`` and ``peak_rss_mib`` before writing the job's ``result`` file.

    Args:
        handlers: Task name to a function taking the job dict and returning a result dict.
    """
    if len(sys.argv) != 2:
        sys.exit(f'usage: python -m benchlib.{os.path.splitext(os.path.basename(sys.argv[0]))[0]} JOB.json')
    job = read_job(sys.argv[1])
    task = job.get('task')
    if task not in handlers:
        sys.exit(f'unknown task {task!r}; this worker runs: {", ".join(sorted(handlers))}')
    result = handlers[task](job)
    times = result.get('times', [])
    result['median_s'] = statistics.median(times) if times else None
    result['peak_rss_mib'] = peak_rss_mib()
    write_result(job['result'], result)
