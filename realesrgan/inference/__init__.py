"""What :class:`realesrgan.utils.RealESRGANer` is made of: settings, device and precision, tiles, the network pass.

* :mod:`~realesrgan.inference.settings`: :class:`UpscaleSettings`, the validated engine settings.
* :mod:`~realesrgan.inference.device` and :mod:`~realesrgan.inference.precision`: decided once per upsampler.
* :mod:`~realesrgan.inference.tiling`: planning of overlapping, cross-faded tiles.
* :mod:`~realesrgan.inference.tile_runner`: runs an image whole or in tiles, redoing it on NaN or out-of-memory.
* :mod:`~realesrgan.inference.network_forward`: the network pass (RRDBNet's tail in bands of rows).
* :mod:`~realesrgan.inference.heap_reuse`: freed memory kept for the next layer.
* :mod:`~realesrgan.inference.image_conversion`: images to network input and back.
* :mod:`~realesrgan.inference.network_weights`: weights (and deep network interpolation) loaded into a network.
"""
