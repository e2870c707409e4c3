"""The executor interface: what a job submits (:class:`Work` and its items) and what it gets back, per item.

A job (the image batch, the video segments, the web page through them) decides *what* to run: a picklable recipe
that builds the upscaler once per worker (:class:`realesrgan.inference.recipe.UpscalerRecipe`), a picklable task
that does one item with it, and the items. An executor decides *where*: here (:class:`InProcessExecutor`), in local
worker processes (:class:`realesrgan.execution.local_pool.LocalPoolExecutor`), or on a cluster. It returns one
:class:`ItemResult` per item, tells a :class:`Listener` as items start, progress and finish, and owns the retries.

A task is a picklable :class:`Task`: ``load(item)`` reads what the item needs (files), ``run`` computes with the
upscaler and may call ``report(payload)`` to show progress (handed to :meth:`Listener.progress`), ``store`` writes
the result and returns the item's value. Executors may load the next item while the upscaler works. An
``Exception`` any of the three raises fails that item only; the other items go on.
"""

import os
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, List, Optional, Sequence

__all__ = [
    'Executor',
    'InProcessExecutor',
    'ItemFailure',
    'ItemResult',
    'Listener',
    'Task',
    'Work',
    'WorkerStartError',
    'describe_error',
    'describe_exception',
]

Report = Callable[[Any], None]


class Task:
    """One item's work in three steps; subclasses override :meth:`run`, and :meth:`load` / :meth:`store` for I/O."""

    def load(self, item: Any) -> Any:
        """What ``item`` needs read before the upscaler works on it (default: nothing)."""
        return None

    def run(self, upscaler: Any, item: Any, loaded: Any, report: Report) -> Any:
        """The upscaler's work on ``item``; its result goes to :meth:`store`."""
        raise NotImplementedError

    def store(self, item: Any, result: Any) -> Any:
        """Write ``result`` where it belongs; returns the item's value (default: ``result``)."""
        return result

    def __call__(self, upscaler: Any, item: Any, report: Report) -> Any:
        """All three steps, one after the other."""
        return self.store(item, self.run(upscaler, item, self.load(item), report))


@dataclass(frozen=True)
class Work:
    """What every worker gets: how to build its upscaler, and what to do with each item.

    Attributes:
        recipe: Builds the upscaler on a device (``recipe('cpu')``); picklable.
        task: Does one item; picklable.
        cleanup_folder: A folder of the job's that a worker removes when the job's process is gone, or None.
    """

    recipe: Callable[[str], Any]
    task: Task
    cleanup_folder: Optional[str] = None


@dataclass(frozen=True)
class ItemFailure:
    """Why an item has no value.

    Attributes:
        message: One line: the error the task raised, or how its worker ended (``'killed by SIGKILL'``).
        worker: The worker that had the item (-1 when none had it).
        kind: ``'raised'`` (the task raised), ``'died'`` (its worker ended with the item in hand) or
            ``'abandoned'`` (every worker had ended before the item was taken).
        detail: For ``'raised'``: the exception's type, message and where it was raised (for a bug report).
    """

    message: str
    worker: int
    kind: str = 'raised'
    detail: str = ''


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one item: its value, or its failure.

    Attributes:
        index: Position of the item in the submitted list.
        value: What the task returned (None on failure).
        failure: Why there is no value, or None.
    """

    index: int
    value: Any = None
    failure: Optional[ItemFailure] = None

    @property
    def ok(self) -> bool:
        """True when the task returned a value."""
        return self.failure is None


class WorkerStartError(RuntimeError):
    """A worker could not build its upscaler; the run stops.

    Attributes:
        worker: The worker's number.
        device: Its device.
        detail: One line: what went wrong.
    """

    def __init__(self, worker: int, device: str, detail: str) -> None:
        super().__init__(f'worker {worker} on {device} could not start: {detail}')
        self.worker, self.device, self.detail = worker, device, detail


class Listener:
    """What a job hears while its items run; every method may raise to stop the run (e.g. a cancel)."""

    def started(self, index: int, worker: int) -> None:
        """Item ``index`` was taken by ``worker``."""

    def progress(self, index: int, payload: Any) -> None:
        """The task of item ``index`` reported ``payload``."""

    def finished(self, result: ItemResult) -> None:
        """Item ``result.index`` is done, with a value or a failure."""

    def warning(self, worker: int, message: str) -> None:
        """A warning was logged in ``worker``."""


class Executor:
    """Runs :class:`Work` over items; see the module's documentation."""

    def run(self, work: Work, items: Sequence[Any], listener: Optional[Listener] = None) -> List[ItemResult]:
        """Run ``work.task`` on every item and return their results, in the order of ``items``.

        Raises:
            WorkerStartError: No worker could be started (the message says why).
            Whatever the listener raises; the workers are stopped in any case.
        """
        raise NotImplementedError


def describe_exception(exc: BaseException) -> str:
    """One line for a bug report: the exception's type and message, and where it was raised.

    Args:
        exc: The exception.

    Returns:
        E.g. ``'MemoryError: out of memory (at upsampler.py:312)'``.
    """
    message = ' '.join(str(exc).split())
    text = f'{type(exc).__name__}: {message}' if message else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    return f'{text} (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})' if frames else text


def _failure(error: BaseException, worker: int) -> ItemFailure:
    return ItemFailure(describe_error(error), worker, detail=describe_exception(error))


def describe_error(error: BaseException) -> str:
    """One line that says why an item failed (OpenCV and torch messages span several lines)."""
    text = ' '.join(str(error).split())
    if isinstance(error, (ValueError, RuntimeError, MemoryError)) and text:
        return text
    return f'{type(error).__name__}: {text}' if text else type(error).__name__


class InProcessExecutor(Executor):
    """Runs every item here with one upscaler built on ``device``; the next item loads in a thread meanwhile.

    Each item is stored and reported before the next one runs, so a listener that stops the run (a cancel) stops
    it after the item it heard of.

    Args:
        device: The device of the upscaler (``'cpu'``, ``'cuda:0'``, ...).
    """

    def __init__(self, device: str) -> None:
        self.device = device

    def run(self, work: Work, items: Sequence[Any], listener: Optional[Listener] = None) -> List[ItemResult]:
        """See :meth:`Executor.run`."""
        listener = listener or Listener()
        try:
            upscaler = work.recipe(self.device)
        except Exception as error:  # noqa: BLE001 (reported as the start failure it is)
            raise WorkerStartError(0, self.device, describe_exception(error)) from error
        task, results = work.task, []
        with ThreadPoolExecutor(1) as loader:
            loaded = loader.submit(task.load, items[0]) if items else None
            for index, item in enumerate(items):
                this, loaded = loaded, loader.submit(task.load, items[index + 1]) if index + 1 < len(items) else None
                listener.started(index, 0)
                try:
                    value = task.store(item, task.run(upscaler, item, this.result(), partial(listener.progress, index)))
                    result = ItemResult(index, value)
                except Exception as error:  # noqa: BLE001 (one item fails, with its reason; the others go on)
                    result = ItemResult(index, failure=_failure(error, 0))
                results.append(result)
                listener.finished(result)
        return results
