"""The command lines: their flags and what they print. The work is done by the jobs they build.

* :mod:`~realesrgan.cli.options`: the flags both inference command lines share.
* :mod:`~realesrgan.cli.image`: ``inference_realesrgan.py`` (the image batch job, :mod:`realesrgan.batch`).
* :mod:`~realesrgan.cli.video`: ``inference_realesrgan_video.py`` (the video job, :mod:`realesrgan.video`).
* :mod:`~realesrgan.cli.evaluate`: ``scripts/evaluate.py`` (the evaluation job, :mod:`realesrgan.evaluation`).
"""
