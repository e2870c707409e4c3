"""Running networks outside PyTorch: ONNX export and its runtime, the ncnn runtime, and parity checks against torch.

* :mod:`~realesrgan.export.onnx`: export to ONNX and run with ONNX Runtime.
* :mod:`~realesrgan.export.ncnn_runtime`: run ncnn ``.param``/``.bin`` files with the ncnn runtime.
* :mod:`~realesrgan.export.parity`: the same image through torch, and the PSNR between two runtimes' outputs.
"""
