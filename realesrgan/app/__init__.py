"""The application layer behind the command lines: model choice, CLI options, the image job, face enhancement.

* :mod:`~realesrgan.app.model_choice`: a model name and/or weights file resolved into a :class:`ModelChoice`.
* :mod:`~realesrgan.app.cli_options`: the flags both inference scripts share, turned into settings.
* :mod:`~realesrgan.app.image_job`: upscaling a file or folder of images (:func:`run_image_job`), with
  :mod:`~realesrgan.app.image_plan` (which images, which output names) and :mod:`~realesrgan.app.image_worker` (one
  image, and the worker process that does many).
* :mod:`~realesrgan.app.video_job`: upscaling a video with the worker processes of :mod:`realesrgan.video`.
* :mod:`~realesrgan.app.face_enhance`: GFPGAN face restoration on top of an upsampler.
"""
