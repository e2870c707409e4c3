"""Reader and writer threads that keep an upsampler busy: images are read ahead and written behind the compute."""

import logging
import queue
import threading
from typing import Any, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from realesrgan.fileio.formats import save_image
from realesrgan.fileio.images import read_image

__all__ = ['IOConsumer', 'PrefetchReader', 'ReadResult']

logger = logging.getLogger(__name__)


class ReadResult(NamedTuple):
    """One file read by :class:`PrefetchReader`: the image, or why it could not be read."""

    path: str
    image: Optional[np.ndarray]
    error: Optional[str]


_END_OF_LIST = object()


class PrefetchReader(threading.Thread):
    """Read images in a background thread, ahead of their use, so that reading overlaps compute.

    Iterating gives the images in order (None for a file that could not be read); :meth:`results` also gives
    each path and the reason a file could not be read. Reading starts with :meth:`start`, or with the first
    item asked for.

    Args:
        img_list: Image paths.
        num_prefetch_queue: How many images may wait in memory.
    """

    __module__ = 'realesrgan.utils'  # its public home (the original's import path)

    def __init__(self, img_list: Sequence[str], num_prefetch_queue: int) -> None:
        super().__init__(daemon=True)
        self.que: queue.Queue = queue.Queue(max(1, num_prefetch_queue))
        self.img_list = list(img_list)

    def run(self) -> None:
        try:
            for path in self.img_list:
                try:
                    self.que.put(ReadResult(path, read_image(path), None))
                except Exception as error:  # one bad file is reported, the rest is still read
                    self.que.put(ReadResult(path, None, str(error) or type(error).__name__))
        finally:
            self.que.put(_END_OF_LIST)

    def _next_result(self) -> ReadResult:
        if self.ident is None:
            self.start()
        item = self.que.get()
        if item is _END_OF_LIST:
            self.que.put(_END_OF_LIST)  # later calls end too
            raise StopIteration
        return item

    def results(self) -> Iterator[ReadResult]:
        """Iterate over :class:`ReadResult` records, in order."""
        while True:
            try:
                yield self._next_result()
            except StopIteration:
                return

    def __iter__(self) -> 'PrefetchReader':
        return self

    def __next__(self) -> Optional[np.ndarray]:
        return self._next_result().image


class IOConsumer(threading.Thread):
    """Write images from a queue in a background thread, so that writing overlaps compute.

    Messages are dicts ``{'output': image, 'save_path': path}``, optionally with ``'quality'`` (JPEG / WebP) and
    ``'metadata'`` (an :class:`~realesrgan.fileio.metadata.ImageMetadata`) for
    :func:`~realesrgan.fileio.formats.save_image`; the string ``'quit'`` ends the thread (send one per consumer
    sharing the queue). Files are written atomically (temporary name, then rename); a failed write is logged and
    recorded in ``failed`` instead of ending the thread, and what the writer notes (metadata left out) in ``notes``.

    Args:
        opt: Options of the caller (kept for the original's signature; not read).
        que: The message queue.
        qid: Number of this consumer, for the log.
    """

    __module__ = 'realesrgan.utils'  # its public home (the original's import path)

    def __init__(self, opt: Any, que: queue.Queue, qid: int) -> None:
        super().__init__()
        self.opt = opt
        self._queue = que
        self.qid = qid
        self.saved: List[str] = []
        self.failed: List[Tuple[str, str]] = []
        self.notes: List[str] = []

    def run(self) -> None:
        while True:
            msg = self._queue.get()
            if isinstance(msg, str) and msg == 'quit':
                break
            try:
                note = save_image(msg['save_path'], msg['output'], msg.get('quality'), msg.get('metadata'))
                self.saved.append(msg['save_path'])
                if note:
                    self.notes.append(note)
            except Exception as error:  # recorded and logged; the other images are still written
                logger.error('Could not write %s: %s', msg['save_path'], error)
                self.failed.append((msg['save_path'], str(error)))
        logger.debug('IO worker %d is done.', self.qid)
