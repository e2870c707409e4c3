"""Measuring super-resolution quality: the job behind ``scripts/evaluate.py``, on :mod:`realesrgan.metrics`.

* :mod:`~realesrgan.evaluation.pairs`: which output goes with which ground-truth image, and how both are read.
* :mod:`~realesrgan.evaluation.scores`: every pair measured with every metric, and the means.
* :mod:`~realesrgan.evaluation.report`: the tables (text, CSV, JSON, Markdown).
* :mod:`~realesrgan.evaluation.comparison`: the side-by-side comparison picture.
* :mod:`~realesrgan.evaluation.job`: the two ways in (measure a folder, or upscale and measure a dataset).
"""
