"""Worker processes that the video job and the image job share: start them cleanly, watch them, stop them.

:mod:`~realesrgan.workers.pool` is the job's side: one process per device, started from a fork server, watched
through an event queue with a timeout so that a worker that dies is noticed at once, stopped at the end.
:mod:`~realesrgan.workers.child` is the worker's side: it leaves Ctrl-C to the job, ends with the job's process
(even when that one is killed outright), forwards its warnings and uses its share of the CPU threads.
"""
