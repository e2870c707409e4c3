"""Where the work of a job runs: the executor interface and its implementations.

* :mod:`~realesrgan.execution.executor`: what a job submits (:class:`Work`: a recipe and a task; the items) and
  what it gets back (:class:`ItemResult` per item), and :class:`InProcessExecutor`, which runs it here.
* :mod:`~realesrgan.execution.local_pool`: :class:`LocalPoolExecutor`, one worker process per device, watched.
* :mod:`~realesrgan.execution.worker_process`: the worker's side of a process (Ctrl-C, death with the job).
* :mod:`~realesrgan.execution.job`: the options every upscaling job has, its devices, its setup errors.
"""
