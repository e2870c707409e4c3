"""The job's side of its worker processes: one per device, started cleanly, watched, stopped.

The job never waits blindly: :class:`WorkerWatcher` reads the workers' events with a timeout and checks that
every worker is still alive, so a worker that crashes or is killed is noticed at once instead of hanging the job.
What a job does about it (fail, or go on with the other workers) is the watcher subclass's choice.
"""

import multiprocessing
import os
import queue
import signal
import time
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set

__all__ = ['WorkerWatcher', 'describe_exit', 'process_context', 'run_workers', 'usable_cpus', 'worker_devices']

_POLL_SECONDS = 0.2
_STOP_SECONDS = 10.0


def worker_devices(device: str, num_process_per_gpu: int, cuda_device_count: int = 0) -> List[str]:
    """Devices of the worker processes: ``num_process_per_gpu`` per CUDA device, else that many on ``device``.

    Args:
        device: ``'cuda'`` for all CUDA devices, or one device (``'cpu'``, ``'mps'``, ``'cuda:1'``).
        num_process_per_gpu: Workers per device (at least 1).
        cuda_device_count: Number of CUDA devices (used when ``device`` is ``'cuda'``).

    Returns:
        One device string per worker, alternating over the CUDA devices.
    """
    if isinstance(num_process_per_gpu, bool) or not isinstance(num_process_per_gpu, int) or num_process_per_gpu < 1:
        raise ValueError(f'num_process_per_gpu must be at least 1, got {num_process_per_gpu}')
    if device == 'cuda' and cuda_device_count > 0:
        return [f'cuda:{i % cuda_device_count}' for i in range(num_process_per_gpu * cuda_device_count)]
    return [device] * num_process_per_gpu


def process_context(preload: Sequence[str]) -> BaseContext:
    """Workers start from a clean process: 'forkserver' where it exists (cheap after the first), else 'spawn'.

    Forking the caller directly is unsafe once it has used CUDA or an OpenMP thread pool.

    Args:
        preload: Modules the fork server imports once, so that each worker starts with them loaded.
    """
    if 'forkserver' in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context('forkserver')
        context.set_forkserver_preload(list(preload))
        return context
    return multiprocessing.get_context('spawn')


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the platform tells it)."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def run_workers(
    target: Callable[..., None],
    payload: Any,
    devices: Sequence[str],
    tasks: Iterable[Any],
    watcher_for: Callable[[Sequence[BaseProcess]], 'WorkerWatcher'],
    preload: Sequence[str],
    name: str,
) -> None:
    """Run one worker process per device on ``tasks`` until the watcher is satisfied, then stop them all.

    Each worker runs ``target(worker_id, device, num_threads, payload, tasks, events)``: it takes tasks until it
    gets ``None`` (one is queued per worker after the tasks) and reports on ``events``. CPU workers share the
    usable CPUs evenly (``num_threads``; 0 for other devices: torch's default).

    Args:
        target: The worker's body, a module-level function (picklable).
        payload: What every worker needs besides its queues (pickled once per worker).
        devices: One device per worker.
        tasks: The tasks, in order.
        watcher_for: Makes the watcher of the started workers.
        preload: Modules the fork server imports once.
        name: Prefix of the process names.

    Raises:
        Whatever the watcher raises; the workers are stopped in any case.
    """
    context = process_context(preload)
    task_queue, events = context.Queue(), context.Queue()
    for task in tasks:
        task_queue.put(task)
    for _ in devices:
        task_queue.put(None)
    cpu_workers = sum(1 for device in devices if device == 'cpu')
    threads = max(1, usable_cpus() // cpu_workers) if cpu_workers else 0
    workers = [
        context.Process(
            target=target,
            args=(i, device, threads if device == 'cpu' else 0, payload, task_queue, events),
            name=f'{name}-{i}',
            daemon=True,
        )
        for i, device in enumerate(devices)
    ]
    for worker in workers:
        worker.start()
    try:
        watcher_for(workers).watch(events)
        # every worker has its None by now and exits by itself
        deadline = time.monotonic() + _STOP_SECONDS
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
    finally:
        _terminate(workers)
        for channel in (task_queue, events):
            channel.close()
            channel.cancel_join_thread()


def _terminate(workers: Sequence[BaseProcess]) -> None:
    """Stop the workers that are still running: SIGTERM, then SIGKILL for any that ignores it."""
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    for worker in workers:
        worker.join(timeout=_STOP_SECONDS)
        if worker.is_alive():
            worker.kill()
            worker.join()


def describe_exit(code: int) -> str:
    """How a worker process ended, for the user: ``'exit code 1'``, ``'killed by SIGKILL, often: out of memory'``."""
    if code < 0:
        name = signal.Signals(-code).name
        hint = ', often: out of memory' if -code == signal.SIGKILL else ''
        return f'killed by {name}{hint}'
    return f'exit code {code}'


class WorkerWatcher:
    """Reads worker events until the work is done, and notices workers that exit.

    A worker that exits is accounted for once its last events are in: cleanly (exit code 0, nothing in hand) it
    is retired; otherwise :meth:`worker_died` is told what it had in hand. Subclasses keep ``current`` (what each
    worker has in hand, None for nothing) up to date in :meth:`handle`.

    Args:
        workers: The processes (anything with an ``exitcode``).
    """

    def __init__(self, workers: Sequence[BaseProcess]) -> None:
        self.workers = workers
        self.current: Dict[int, Optional[Any]] = {i: None for i in range(len(workers))}
        self.retired: Set[int] = set()

    def done(self) -> bool:
        """True when every task is accounted for."""
        raise NotImplementedError

    def handle(self, event: tuple) -> None:
        """Take one event ``(kind, worker_id, ...)`` into account."""
        raise NotImplementedError

    def worker_died(self, worker_id: int, what: str, in_hand: Optional[Any]) -> None:
        """A worker ended uncleanly (``what`` says how), or cleanly with ``in_hand`` not done; may raise."""
        raise NotImplementedError

    def all_exited(self) -> None:
        """Every worker has exited with work left; may raise (else :meth:`done` must say True now)."""
        raise NotImplementedError

    def watch(self, events: Queue) -> None:
        """Return when :meth:`done`; what the hooks raise ends the watch."""
        while not self.done():
            try:
                self.handle(events.get(timeout=_POLL_SECONDS))
            except queue.Empty:
                if self._exited_unaccounted():
                    self._drain(events)
                    if not self.done():
                        self._account_for_exits()

    def _exited_unaccounted(self) -> List[int]:
        return [i for i, worker in enumerate(self.workers) if worker.exitcode is not None and i not in self.retired]

    def _drain(self, events: Queue) -> None:
        """Handle what exited workers said last (their final events may still be on their way)."""
        deadline = time.monotonic() + 1.0
        while True:
            try:
                self.handle(events.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                return

    def _account_for_exits(self) -> None:
        for worker_id in self._exited_unaccounted():
            code = self.workers[worker_id].exitcode
            in_hand = self.current[worker_id]
            self.retired.add(worker_id)
            if code != 0 or in_hand is not None:
                self.worker_died(worker_id, describe_exit(code), in_hand)
                self.current[worker_id] = None
        if len(self.retired) == len(self.workers) and not self.done():
            self.all_exited()
