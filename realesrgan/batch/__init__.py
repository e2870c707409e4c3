"""The image batch job behind ``inference_realesrgan.py``: which files, their output names, and running them.

* :mod:`~realesrgan.batch.job`: the job's options (:class:`ImageJob`), its errors and its summary.
* :mod:`~realesrgan.batch.plan`: the input images and their output names, checked before any work.
* :mod:`~realesrgan.batch.image_task`: one image, from its file to its output file.
* :mod:`~realesrgan.batch.run`: :func:`run_image_job`, the planned images submitted to an executor.
"""
