"""Cancelling the page's jobs: one token per running job, checked between tiles, images and frames.

The jobs run one at a time on the device: Gradio's queue starts one job at a time (see :mod:`realesrgan.web.page`),
and the board runs each in a thread that first takes the device, so that a job whose request was cancelled holds the
device until it has really stopped. The job's progress callbacks call :meth:`CancelToken.check`, which raises
:class:`JobCancelled` once the job was cancelled: by the tab's Cancel button, by a client that cancels its request
through the API, or by the server stopping. The jobs let that exception through (it is not an ``Exception``): the
image job stops after the current tile, the video job stops its worker processes and removes its work folder, and
the handler removes the job's folder. The board knows which jobs run, so that the server can stop them all and wait
for them before it removes its folder.
"""

import asyncio
import contextvars
import threading
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional, TypeVar

__all__ = ['CancelBoard', 'CancelToken', 'JobCancelled', 'Report']

# Called with (fraction done, what is being done) for the page's progress bar.
Report = Callable[[float, str], None]
Result = TypeVar('Result')


class JobCancelled(BaseException):  # noqa: N818 (a request of the user, not a failure)
    """The job was cancelled; derived from ``BaseException`` so that the jobs' per-image handlers let it through."""


class CancelToken:
    """Whether one job should stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def check(self, *_progress: object) -> None:
        """Raise :class:`JobCancelled` when the job should stop (takes and ignores progress arguments).

        Raises:
            JobCancelled: :meth:`cancel` was called.
        """
        if self._event.is_set():
            raise JobCancelled()


class CancelBoard:
    """The running jobs and their sessions (browser tab or API client), so that a cancel stops that session's job and
    no other; and the device, which runs one job at a time."""

    def __init__(self) -> None:
        self._running: Dict[CancelToken, str] = {}
        self._changed = threading.Condition()
        self._device = threading.Lock()
        self._closed = False

    def _register(self, session: str) -> CancelToken:
        token = CancelToken()
        with self._changed:
            if self._closed:  # the server stops: a job that starts now stops at once
                token.cancel()
            self._running[token] = session
        return token

    def _release(self, token: CancelToken) -> None:
        with self._changed:
            self._running.pop(token, None)
            self._changed.notify_all()

    @contextmanager
    def running(self, session: str) -> Iterator[CancelToken]:
        """Register the job of ``session`` for its duration; yields the token its callbacks check."""
        token = self._register(session)
        try:
            yield token
        finally:
            self._release(token)

    async def run(self, session: str, job: Callable[[CancelToken], Result]) -> Optional[Result]:
        """Run ``job(token)`` in a thread as the job of ``session``, once the device is free; None when cancelled.

        The thread runs in a copy of the caller's context (Gradio finds the request's progress bar there). When
        this coroutine is cancelled (the client cancelled its request through the API, or went away), the job is
        cancelled as by :meth:`cancel` and the coroutine ends at once; the job stops after its current tile or
        frame and removes its folder, and only then does the device pass to the next job (which waits for it).

        Raises:
            asyncio.CancelledError: This coroutine was cancelled.
        """
        token = self._register(session)

        def in_thread() -> Optional[Result]:
            try:
                with self._device:
                    return job(token)
            except JobCancelled:
                return None
            finally:
                self._release(token)

        done = asyncio.get_running_loop().run_in_executor(None, contextvars.copy_context().run, in_thread)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            token.cancel()
            raise

    def cancel(self, session: str) -> bool:
        """Cancel the running job of ``session``; False when it has none."""
        with self._changed:
            tokens = [token for token, owner in self._running.items() if owner == session]
        for token in tokens:
            token.cancel()
        return bool(tokens)

    def close(self) -> int:
        """Cancel every running job, and every job that starts from now on (the server stops).

        Returns:
            How many jobs were running.
        """
        with self._changed:
            self._closed = True
            tokens = list(self._running)
        for token in tokens:
            token.cancel()
        return len(tokens)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job runs, at most ``timeout`` seconds; True when none runs."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._running, timeout)
