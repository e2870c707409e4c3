"""A local web page for upscaling images and videos, built on Gradio (the ``web`` extra): ``python app.py``.

The page runs the same jobs as the command lines (:mod:`realesrgan.batch`, :mod:`realesrgan.video`); this package
adds only the page (:mod:`~realesrgan.web.page`), the handlers that turn its choices into jobs
(:mod:`~realesrgan.web.image_handler`, :mod:`~realesrgan.web.video_handler`), cancelling
(:mod:`~realesrgan.web.cancel_board`), the temporary folder (:mod:`~realesrgan.web.workspace`), the server
(:mod:`~realesrgan.web.server`) and its command line (:mod:`~realesrgan.web.web_cli`). Gradio is imported only when
the server starts.
"""

from realesrgan.web.web_cli import main

__all__ = ['main']
