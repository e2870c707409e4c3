"""Starting worker processes: one measured configuration per process, described by a JSON job file.

A worker is a module of this folder run as ``python -m benchlib.<name> JOB.json`` from ``benchmarks/`` (so
``benchlib`` is importable without touching ``sys.path``); :func:`benchlib.measure.run_worker` is its other half.
Our workers get ``PYTHONPATH`` set to the checkout whose ``realesrgan`` this process imported, so that they measure
the same code; the original's interpreter ignores ``PYTHONPATH`` (``-E``, :func:`benchlib.original_env.worker_python`).
"""

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

__all__ = ['BENCH_DIR', 'REPO_ROOT', 'THREAD_ENV_VARS', 'JobRun', 'imported_checkout', 'run_job', 'worker_env']

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent
# Environment variables that size the thread pools of OpenMP, MKL and OpenBLAS in a worker process.
THREAD_ENV_VARS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS')


@dataclass
class JobRun:
    """What one worker run gave: its result dict (None when it failed), its wall time and why it failed."""

    result: Optional[Dict[str, Any]]
    seconds: float
    error: Optional[str] = None
    stderr: str = ''


def imported_checkout() -> Path:
    """The folder holding the ``realesrgan`` package that this process imports (a checkout, or site-packages)."""
    import realesrgan

    return Path(realesrgan.__file__).resolve().parent.parent


def worker_env(threads: Optional[int] = None) -> Dict[str, str]:
    """Environment of the workers: this process's ``realesrgan`` first, thread pools pinned when ``threads`` is given.

    Without ``threads`` the runtimes keep their own defaults, as in a user's command.
    """
    env = dict(os.environ, PYTHONPATH=str(imported_checkout()))
    if threads:
        env.update({name: str(threads) for name in THREAD_ENV_VARS})
    else:
        for name in THREAD_ENV_VARS:
            env.pop(name, None)
    return env


def run_job(python: Sequence[str], worker: str, job: Dict[str, Any], job_path: Path, env: Dict[str, str]) -> JobRun:
    """Run ``python -m benchlib.<worker> job_path`` on ``job`` and read its result; never raises for a failed run.

    Args:
        python: The interpreter command (the original's: :func:`benchlib.original_env.worker_python`).
        worker: Module name in ``benchlib`` (``ours_worker``, ...).
        job: The job; its ``result`` entry names the result file, next to ``job_path`` unless given.
        job_path: Where the job file is written.
        env: Environment of the worker (:func:`worker_env`).

    Returns:
        The result, the wall time of the whole process and, when it failed, the last line it wrote.
    """
    job = dict(job)
    job.setdefault('result', str(job_path.with_name(f'{job_path.stem}_result.json')))
    job_path.write_text(json.dumps(job))
    start = time.perf_counter()
    completed = subprocess.run(
        [*python, '-m', f'benchlib.{worker}', str(job_path)], cwd=BENCH_DIR, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    result_path = Path(job['result'])
    if completed.returncode != 0 or not result_path.exists():
        lines = (completed.stderr or completed.stdout or 'no output').strip().splitlines()
        error = f'exit status {completed.returncode}: {lines[-1] if lines else ""}'
        return JobRun(None, seconds, error, completed.stderr)
    return JobRun(json.loads(result_path.read_text()), seconds, stderr=completed.stderr)
