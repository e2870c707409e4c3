"""Cancelling the job of a browser tab: one token per running job, checked between tiles, images and frames.

Gradio's queue runs one job at a time per device (see :mod:`realesrgan.web.page`); the job's progress callbacks call
:meth:`CancelToken.check`, which raises :class:`JobCancelled` once the tab's Cancel button was pressed. The jobs let
that exception through (it is not an ``Exception``): the image job stops after the current tile, the video job stops
its worker processes and removes its work folder, and the handler removes the job's folder.
"""

import threading
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional

__all__ = ['CancelToken', 'JobBoard', 'JobCancelled', 'Report']

# Called with (fraction done, what is being done) for the page's progress bar.
Report = Callable[[float, str], None]


class JobCancelled(BaseException):  # noqa: N818 (a request of the user, not a failure)
    """The user pressed Cancel; derived from ``BaseException`` so that the jobs' per-image handlers let it through."""


class CancelToken:
    """Whether the job of one tab should stop."""

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


class JobBoard:
    """The running job of each session (browser tab), so that Cancel stops that tab's job and no other."""

    def __init__(self) -> None:
        self._running: Dict[str, CancelToken] = {}
        self._lock = threading.Lock()

    @contextmanager
    def running(self, session: str) -> Iterator[CancelToken]:
        """Register the job of ``session`` for its duration; yields the token its callbacks check."""
        token = CancelToken()
        with self._lock:
            self._running[session] = token
        try:
            yield token
        finally:
            with self._lock:
                if self._running.get(session) is token:
                    del self._running[session]

    def cancel(self, session: str) -> bool:
        """Cancel the running job of ``session``; False when it has none."""
        with self._lock:
            token: Optional[CancelToken] = self._running.get(session)
        if token is None:
            return False
        token.cancel()
        return True
