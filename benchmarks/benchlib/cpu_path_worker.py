"""Worker: one way of running a network's forward pass on the CPU, timed on the benchmark photograph.

Started by ``cpu_paths.py`` as ``python -m benchlib.cpu_path_worker job.json``. Each path gets the same fp32 weights
and the same input (RGB in [0, 1], one image, no pre-pad or tiles) and returns the same BGR uint8 image, so that
``cpu_paths.py`` can compare every path's output with the reference path's (``channels_last``, our fp32 default).
The thread-pinning path is the reference path run with ``OMP_PROC_BIND`` / ``OMP_PLACES`` set by the caller; the
``engine`` path is the reference path as ``RealESRGANer`` runs it (RRDBNet's upsampling tail in bands of rows).
"""

import time
from typing import Any, Callable, Dict

import numpy as np
import torch
from torch import nn

import realesrgan  # noqa: F401 (first: makes BasicSR importable on current torchvision)
from benchlib.measure import run_worker, time_calls, torch_threads

__all__ = ['PATH_BUILDERS', 'run_path']

Forward = Callable[[torch.Tensor], torch.Tensor]


def _channels_last(model: nn.Module, example: torch.Tensor) -> Forward:
    model = model.to(memory_format=torch.channels_last)
    return lambda x: model(x.contiguous(memory_format=torch.channels_last))


def _engine(model: nn.Module, example: torch.Tensor) -> Forward:
    from realesrgan.inference.network_forward import forward_network

    model = model.to(memory_format=torch.channels_last)
    return lambda x: forward_network(model, x.contiguous(memory_format=torch.channels_last))


def _contiguous(model: nn.Module, example: torch.Tensor) -> Forward:
    return model


def _bf16(model: nn.Module, example: torch.Tensor) -> Forward:
    forward = _channels_last(model, example)

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast('cpu', dtype=torch.bfloat16):
            return forward(x).float()

    return run


def _jit_freeze(model: nn.Module, example: torch.Tensor) -> Forward:
    model = model.to(memory_format=torch.channels_last)
    example = example.contiguous(memory_format=torch.channels_last)
    frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, example)))
    return lambda x: frozen(x.contiguous(memory_format=torch.channels_last))


def _inductor(model: nn.Module, example: torch.Tensor) -> Forward:
    import torch._inductor.config as inductor_config

    inductor_config.freezing = True  # weights become constants: prepacked, conv + activation fused
    return torch.compile(_channels_last(model, example))


def _nnpack(model: nn.Module, example: torch.Tensor) -> Forward:
    """Every 3x3, stride-1 convolution through NNPACK (Winograd F(6x6, 3x3) on AVX2), the others through oneDNN."""
    if not torch._nnpack_available():  # also NNPACK's initialisation, without which every call fails
        raise RuntimeError('this torch build has no NNPACK')

    def winograd_forward(conv: nn.Conv2d) -> Callable[[torch.Tensor], torch.Tensor]:
        padding = [conv.padding[1], conv.padding[1], conv.padding[0], conv.padding[0]]
        return lambda x: torch._nnpack_spatial_convolution(x.contiguous(), conv.weight, conv.bias, padding)

    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.kernel_size == (3, 3) and module.stride == (1, 1):
            module.forward = winograd_forward(module)
    return model


# path name -> how to build its forward pass from the fp32 network and an example input
PATH_BUILDERS: Dict[str, Callable[[nn.Module, torch.Tensor], Forward]] = {
    'channels_last': _channels_last,
    'engine': _engine,
    'contiguous': _contiguous,
    'bf16': _bf16,
    'jit_freeze': _jit_freeze,
    'inductor': _inductor,
    'nnpack': _nnpack,
}


def run_path(job: Dict[str, Any]) -> Dict[str, Any]:
    """Handler of the ``path`` task: build ``job['path']`` for the model, time it, save its last output.

    The first call (compilation, tracing or warm-up) is timed apart as ``first_call_s``.
    """
    from realesrgan.inference.image_conversion import color_output, network_input
    from realesrgan.utils import RealESRGANer
    from realesrgan.zoo import get_model_spec

    threads = torch_threads(job)
    torch.set_grad_enabled(False)
    spec = get_model_spec(job['model_name'])
    cpu = torch.device('cpu')
    upsampler = RealESRGANer(scale=spec.netscale, model_path=job['model_path'], model=spec.build(), device=cpu)
    model = upsampler.model.float()
    bgr = np.load(job['input'])
    image = network_input(bgr, 255, bgr=True, pre_pad=0, padded=bgr.shape[:2], device=cpu, channels_last=False)
    start = time.perf_counter()
    forward = PATH_BUILDERS[job['path']](model, image)
    forward(image)
    first_call = time.perf_counter() - start
    times, output = time_calls(lambda: forward(image), job['repeats'])
    np.save(job['output'], color_output(output, 255))  # as RealESRGANer turns it into an image
    return {'times': times, 'threads': threads, 'first_call_s': first_call}


if __name__ == '__main__':
    run_worker({'path': run_path})
