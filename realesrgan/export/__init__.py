"""Running networks outside PyTorch: ONNX and ncnn export, their runtimes, and parity checks against torch.

* :mod:`~realesrgan.export.onnx`: export to ONNX and run with ONNX Runtime.
* :mod:`~realesrgan.export.ncnn_runtime`: run ncnn ``.param``/``.bin`` files with the ncnn runtime.
* :mod:`~realesrgan.export.parity`: the same image through torch, and the PSNR between two runtimes' outputs.
* :mod:`~realesrgan.export.ncnn_graph`: the ncnn graph of an RRDBNet / SRVGGNetCompact, in the official files' layout.
* :mod:`~realesrgan.export.ncnn_writer`: that graph as ``.param`` text and ``.bin`` weights (float16 or float32).
* :mod:`~realesrgan.export.check_images`: the random and real check images, two sizes each.
* :mod:`~realesrgan.export.ncnn_export`: export, check with the ncnn runtime and the reader, then write atomically.
"""
