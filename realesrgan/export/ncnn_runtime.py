"""Run an ncnn model with the ncnn runtime on the CPU in float32: the independent reference for converted weights.

Needs the optional ``ncnn`` package (``pip install ncnn``, in the ``export`` extra); the tests,
``scripts/ncnn2pytorch.py --check`` and the checks of every ncnn export (``scripts/pytorch2ncnn.py``) use it.
"""

from typing import Optional

import numpy as np

from realesrgan.zoo.ncnn import parse_param

__all__ = ['run_ncnn']


def run_ncnn(param_path: str, bin_path: str, image: np.ndarray, num_threads: Optional[int] = None) -> np.ndarray:
    """Run one image through an ncnn model with full float32 precision.

    Args:
        param_path: The ``.param`` graph.
        bin_path: The ``.bin`` weights.
        image: Input of shape (H, W, C), float32, in the value range the model expects (RGB in [0, 1] for
            Real-ESRGAN models).
        num_threads: CPU threads for ncnn; None keeps ncnn's default.

    Returns:
        The model output, (H_out, W_out, C_out) float32.
    """
    try:
        import ncnn
    except ImportError as error:
        raise ImportError('The ncnn runtime is needed as a reference: pip install ncnn') from error
    layers = parse_param(param_path)
    input_blob = next(layer.outputs[0] for layer in layers if layer.type == 'Input')
    output_blob = layers[-1].outputs[0]

    net = ncnn.Net()
    # ncnn stores and computes in float16/bfloat16 where the CPU allows; the reference must stay in float32.
    net.opt.use_vulkan_compute = False
    net.opt.use_fp16_storage = False
    net.opt.use_fp16_packed = False
    net.opt.use_fp16_arithmetic = False
    net.opt.use_bf16_storage = False
    if num_threads is not None:
        net.opt.num_threads = num_threads
    if net.load_param(str(param_path)) != 0 or net.load_model(str(bin_path)) != 0:
        raise ValueError(f'The ncnn runtime could not load {param_path} / {bin_path}.')
    # ncnn.Mat wraps the array without copying: keep `planar` alive until the output is extracted.
    planar = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
    with net.create_extractor() as extractor:
        extractor.input(input_blob, ncnn.Mat(planar))
        status, output = extractor.extract(output_blob)
        if status != 0:
            raise RuntimeError(f'The ncnn runtime failed on {param_path} (status {status}).')
        result = np.array(output).transpose(1, 2, 0).copy()
    net.clear()
    return result
