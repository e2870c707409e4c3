"""What the benchmark scripts of ``benchmarks/`` share: machine facts, timing, reports, sample images, workers.

An entry script runs as ``python benchmarks/<name>.py``, which puts ``benchmarks/`` first on ``sys.path``, and
imports these modules as ``benchlib.<module>``. Worker processes (one measured configuration each) run as
``python -m benchlib.<name>_worker JOB.json`` with ``benchmarks/`` as their working folder (:mod:`benchlib.workers`).
"""
