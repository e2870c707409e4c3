"""Worker: this project's ``RealESRGANer.enhance`` and ``RealESRGANModel.feed_data``.

Started by ``inference_benchmark.py`` and ``training_speed.py`` as ``python -m benchlib.ours_worker job.json`` with
the project's Python, its ``PYTHONPATH`` naming the checkout the benchmark itself imports (:mod:`benchlib.workers`).
"""

from typing import Any, Dict

import numpy as np
import torch

import realesrgan  # noqa: F401 (first: makes BasicSR importable on current torchvision)
from benchlib.measure import reseeded, run_worker, time_calls, torch_threads


def run_inference(job: Dict[str, Any]) -> Dict[str, Any]:
    """Handler of the ``inference`` task: ``RealESRGANer.enhance`` on ``job['input']`` at ``job['precision']``."""
    from realesrgan.utils import RealESRGANer
    from realesrgan.zoo import get_model_spec

    threads = torch_threads(job)
    spec = get_model_spec(job['model_name'])
    upsampler = RealESRGANer(
        scale=spec.netscale,
        model_path=job['model_path'],
        model=spec.build(),
        tile=job['tile'],
        tile_pad=job['tile_pad'],
        pre_pad=job['pre_pad'],
        half=False,
        device=torch.device('cpu'),
        precision=job['precision'],
    )
    img = np.load(job['input'])
    times, (output, _) = time_calls(lambda: upsampler.enhance(img, outscale=spec.netscale), job['repeats'])
    np.save(job['output'], output)
    return {'times': times, 'threads': threads, 'precision': upsampler.precision}


def run_degradation(job: Dict[str, Any]) -> Dict[str, Any]:
    """Handler of the ``degradation`` task: ``RealESRGANModel.feed_data`` on a saved batch."""
    from realesrgan.models.realesrgan_model import RealESRGANModel

    threads = torch_threads(job)
    model = RealESRGANModel(job['opt'])
    batch = {key: torch.from_numpy(value) for key, value in np.load(job['batch']).items()}
    times, _ = time_calls(reseeded(lambda: model.feed_data(batch), job['seed']), job['repeats'])
    np.save(job['output'], model.lq.numpy())
    return {'times': times, 'threads': threads}


if __name__ == '__main__':
    run_worker({'inference': run_inference, 'degradation': run_degradation})
