"""The local process pool: one worker process per device, each with its own upscaler, watched by the job's process.

:class:`LocalPoolExecutor` is the :class:`~realesrgan.execution.executor.Executor` of one machine. Each worker has a
private two-way pipe to the job: the job hands it one item at a time and it reports back on the same pipe, so no
lock is shared between processes, and a worker killed at any moment (even half-way through a message) can take
nobody else down with it. The job never waits blindly: it reads the pipes with a timeout and checks that every worker
is still alive, so a worker that crashes or is killed is noticed at once instead of hanging the job. The item a dead
worker had in hand is retried on the other workers (``retries`` times) or fails with how the worker ended; the other
items go on.

A worker reports ``('started', worker, index)``, ``('progress', worker, index, payload)``, ``('done', worker, index,
value)``, ``('error', worker, index, message, detail)``, ``('warning', worker, message)``, or ``('start_failed',
worker, detail)`` when it cannot build its upscaler.
"""

import functools
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any, Callable, Dict, List, Optional, Sequence, Set

from realesrgan.execution.executor import (
    Executor,
    ItemFailure,
    ItemResult,
    Listener,
    Work,
    WorkerStartError,
    describe_error,
    describe_exception,
)
from realesrgan.execution.worker_process import worker_process

__all__ = ['LocalPoolExecutor', 'describe_exit', 'process_context', 'usable_cpus', 'worker_devices']

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


class LocalPoolExecutor(Executor):
    """Runs items in one worker process per device on this machine.

    CPU workers share the usable CPUs evenly. The modules of the recipe and the task are imported once by the
    process server, so that each worker starts with them loaded.

    Args:
        devices: One device per worker (see :func:`realesrgan.execution.job.job_devices`).
        retries: How many times an item whose worker died is given to another worker.
        name: Prefix of the process names.
    """

    def __init__(self, devices: Sequence[str], retries: int = 0, name: str = 'realesrgan-worker') -> None:
        if not devices:
            raise ValueError('at least one worker device is needed')
        self.devices = list(devices)
        self.retries = retries
        self.name = name

    def run(self, work: Work, items: Sequence[Any], listener: Optional[Listener] = None) -> List[ItemResult]:
        """See :meth:`~realesrgan.execution.executor.Executor.run`."""
        if not items:
            return []
        devices = self.devices[: len(items)]
        context = process_context([type(work.recipe).__module__, type(work.task).__module__])
        cpu_workers = sum(1 for device in devices if device == 'cpu')
        threads = max(1, usable_cpus() // cpu_workers) if cpu_workers else 0
        pipes = [context.Pipe() for _ in devices]
        workers = [
            context.Process(
                target=_worker_main,
                args=(i, device, threads if device == 'cpu' else 0, work, list(items), pipes[i][1]),
                name=f'{self.name}-{i}',
                daemon=True,
            )
            for i, device in enumerate(devices)
        ]
        channels = _Channels([job_end for job_end, _ in pipes])
        try:
            for index, (worker, (_, worker_end)) in enumerate(zip(workers, pipes)):
                _start(worker, index, devices[index])
                worker_end.close()  # the worker's end lives in the worker now: its death closes the pipe
            watcher = PoolWatcher(workers, devices, len(items), listener or Listener(), self.retries, channels.send)
            watcher.watch(channels)
            channels.send_all(None)  # every worker ends by itself
            deadline = time.monotonic() + _STOP_SECONDS
            for worker in workers:
                worker.join(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            _terminate(workers)
            channels.close()
        return [watcher.results[index] for index in range(len(items))]


class _Channels:
    """The job's ends of the workers' pipes: events from any of them (``get``, as a queue's), items to one."""

    def __init__(self, connections: Sequence[Connection]) -> None:
        self.connections = list(connections)
        self.open = set(range(len(connections)))

    def get(self, timeout: float) -> tuple:
        """The next event of any worker.

        Raises:
            queue.Empty: None came within ``timeout`` seconds (or every pipe is closed).
        """
        deadline = time.monotonic() + timeout
        while self.open:
            ready = wait([self.connections[i] for i in self.open], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            for connection in ready:
                try:
                    return connection.recv()
                except (EOFError, OSError, pickle.UnpicklingError):  # the worker is gone, maybe mid-message
                    self.open.discard(self.connections.index(connection))
        raise queue.Empty

    def send(self, worker: int, item: Optional[int]) -> None:
        """Hand ``item`` (an index, or None: stop) to ``worker``, unless its pipe is closed."""
        try:
            self.connections[worker].send(item)
        except (BrokenPipeError, OSError):
            self.open.discard(worker)

    def send_all(self, item: Optional[int]) -> None:
        for worker in list(self.open):
            self.send(worker, item)

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


class _Outbox:
    """A worker's sending end of its pipe; a lock keeps the messages of its threads (warnings) whole."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.lock = threading.Lock()

    def put(self, event: tuple) -> None:
        with self.lock:
            self.connection.send(event)


def _worker_main(
    worker_id: int, device: str, num_threads: int, work: Work, items: List[Any], connection: Connection
) -> None:
    """Process entry point: build the upscaler, then do the items whose indices arrive until ``None`` arrives."""
    events = _Outbox(connection)
    with worker_process(worker_id, events, num_threads, work.cleanup_folder):
        try:
            upscaler = work.recipe(device)
        except BaseException as exc:  # noqa: B036 -- reported to the job, which stops
            events.put(('start_failed', worker_id, describe_exception(exc)))
            return
        while True:
            try:
                index = connection.recv()
            except EOFError:  # the job is gone
                return
            if index is None:
                return
            events.put(('started', worker_id, index))
            try:
                value = work.task(upscaler, items[index], functools.partial(_report, events, worker_id, index))
            except Exception as error:  # noqa: BLE001 (one item fails, with its reason; the others go on)
                events.put(('error', worker_id, index, describe_error(error), describe_exception(error)))
            else:
                events.put(('done', worker_id, index, value))


def _report(events: _Outbox, worker_id: int, index: int, payload: Any) -> None:
    events.put(('progress', worker_id, index, payload))


def _start(worker: BaseProcess, index: int, device: str) -> None:
    """Start one worker; the process server that forks it (the forkserver) may have been killed meanwhile.

    Raises:
        WorkerStartError: The process could not be started; one line says why.
    """
    try:
        worker.start()
    except (EOFError, OSError) as error:
        reason = f'{type(error).__name__}: {error}'
        raise WorkerStartError(
            index, device, f'the process that starts the workers ended ({reason}); run it again'
        ) from None


def _terminate(workers: Sequence[BaseProcess]) -> None:
    """Stop the workers that are still running: SIGTERM, then SIGKILL for any that ignores it."""
    started = [worker for worker in workers if worker.pid is not None]
    for worker in started:
        if worker.is_alive():
            worker.terminate()
    for worker in started:
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


class PoolWatcher:
    """Reads the workers' events until every item has a result, and notices workers that exit.

    A worker that exits is accounted for once its last events are in: cleanly (exit code 0, nothing in hand) it is
    retired; otherwise the item in hand is retried on another worker or fails with how the worker ended. When every
    worker has exited, the items left fail as abandoned.

    Args:
        workers: The processes (anything with an ``exitcode``).
        devices: The device of each worker.
        num_items: How many items there are.
        listener: Told of every event.
        retries: How many times an item whose worker died is given to another worker.
        dispatch: ``dispatch(worker, index)`` hands an item to a worker; None when the workers take items themselves
            (events replayed in tests).
    """

    def __init__(
        self,
        workers: Sequence[BaseProcess],
        devices: Sequence[str],
        num_items: int,
        listener: Listener,
        retries: int = 0,
        dispatch: Optional[Callable[[int, int], None]] = None,
    ) -> None:
        self.workers, self.devices, self.num_items = workers, devices, num_items
        self.listener, self.retries, self.dispatch = listener, retries, dispatch
        self.in_hand: Dict[int, Optional[int]] = {i: None for i in range(len(workers))}
        self.retired: Set[int] = set()
        self.attempts: Dict[int, int] = {}
        self.results: Dict[int, ItemResult] = {}
        self.pending = deque(range(num_items))
        for worker in range(len(workers)):
            self._hand_out(worker)

    def _hand_out(self, worker: int) -> None:
        """Give ``worker`` the next pending item, if there is one and items are handed out here."""
        if self.dispatch is not None and self.pending and worker not in self.retired:
            index = self.pending.popleft()
            self.in_hand[worker] = index
            self.attempts[index] = self.attempts.get(index, 0) + 1
            self.dispatch(worker, index)

    def done(self) -> bool:
        """True when every item has its result."""
        return len(self.results) == self.num_items

    def watch(self, events: Any) -> None:
        """Return when :meth:`done`; what the listener raises ends the watch.

        Args:
            events: Gives the next event with ``get(timeout)``, raising :class:`queue.Empty` when none came.
        """
        while not self.done():
            try:
                self.handle(events.get(timeout=_POLL_SECONDS))
            except queue.Empty:
                if self._exited_unaccounted():
                    self._drain(events)
                    if not self.done():
                        self._account_for_exits()

    def handle(self, event: tuple) -> None:
        """Take one event ``(kind, worker, ...)`` into account."""
        kind, worker = event[0], event[1]
        if kind == 'started':
            if self.dispatch is None:  # the worker took the item itself
                self.in_hand[worker] = event[2]
                self.attempts[event[2]] = self.attempts.get(event[2], 0) + 1
            self.listener.started(event[2], worker)
        elif kind == 'progress':
            self.listener.progress(event[2], event[3])
        elif kind == 'done':
            self._finish(worker, ItemResult(event[2], event[3]))
        elif kind == 'error':
            self._finish(worker, ItemResult(event[2], failure=ItemFailure(event[3], worker, detail=event[4])))
        elif kind == 'warning':
            self.listener.warning(worker, event[2])
        elif kind == 'start_failed':
            raise WorkerStartError(worker, self.devices[worker], event[2])

    def _finish(self, worker: int, result: ItemResult) -> None:
        if self.in_hand.get(worker) == result.index:
            self.in_hand[worker] = None
            self._hand_out(worker)
        if result.index not in self.results:
            self.results[result.index] = result
            self.listener.finished(result)

    def _exited_unaccounted(self) -> List[int]:
        return [i for i, worker in enumerate(self.workers) if worker.exitcode is not None and i not in self.retired]

    def _drain(self, events: Any) -> None:
        """Handle what exited workers said last (their final events may still be on their way)."""
        deadline = time.monotonic() + 1.0
        while True:
            try:
                self.handle(events.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                return

    def _account_for_exits(self) -> None:
        for worker in self._exited_unaccounted():
            self.retired.add(worker)
            index, self.in_hand[worker] = self.in_hand[worker], None
            if index is None or index in self.results:
                continue
            idle = [other for other in range(len(self.workers)) if other not in self.retired]
            if idle and self.dispatch is not None and self.attempts.get(index, 0) <= self.retries:
                self.pending.appendleft(index)  # another worker takes it
                for other in idle:
                    if self.in_hand[other] is None:
                        self._hand_out(other)
                continue
            what = describe_exit(self.workers[worker].exitcode)
            self._finish(worker, ItemResult(index, failure=ItemFailure(what, worker, 'died')))
        if len(self.retired) == len(self.workers):
            for index in range(self.num_items):
                if index not in self.results:
                    self._finish(
                        -1, ItemResult(index, failure=ItemFailure('every worker process had exited', -1, 'abandoned'))
                    )
