"""Worker: the best 3x3-convolution throughput this CPU reaches, per precision, within a time budget.

Run by ``inference_benchmark.py`` as ``python -m benchlib.conv_peak_worker job.json``. The models are stacks of 3x3
convolutions, so the yardstick of their GFLOP/s is the best 3x3 convolution oneDNN runs here: channels-last (its
preferred layout on CPUs), 64 to 256 channels, in the precision's own dtype (bf16 weights and input, as autocast
runs them). A matrix product is no such yardstick: the models reached 170-408% of a bf16 ``torch.mm`` "peak" on
CPUs whose matmul path is slower than their convolution path.

The probe is bounded in time per precision (``budget_s``): the shapes go from small to large, each called until its
share of the budget is spent (a few calls at most), and a shape that overran its share twice over ends the probe of
that precision. A CPU without bf16 hardware (oneDNN emulates it) thus gets its small-shape figure within
seconds, where the 4096x4096 bf16 matmul of earlier versions ran for more than 20 minutes on an AMD Zen 3.
"""

import time
from typing import Any, Dict, Tuple

import torch

from benchlib.measure import run_worker, torch_threads

DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}
# (channels in and out, side of the square input), small to large: 0.3 to 4.8 GFLOP per call
SHAPES = ((64, 64), (64, 128), (128, 128), (256, 64))
TIMED_CALLS = 5


def conv_gflops(dtype: torch.dtype, channels: int, side: int, budget_s: float) -> Tuple[float, float]:
    """Best GFLOP/s of a channels-last 3x3 convolution, timed until ``budget_s`` is spent or after a few calls.

    Args:
        dtype: Element type of the weights and the input.
        channels: Input and output channels.
        side: Side of the square input.
        budget_s: Seconds this shape may take; the first (warm-up) call always runs and counts when it is the only one.

    Returns:
        The best GFLOP/s of the calls and the seconds spent.
    """
    generator = torch.Generator().manual_seed(0)
    conv = torch.nn.Conv2d(channels, channels, 3, padding=1).eval().to(dtype).to(memory_format=torch.channels_last)
    x = (
        torch.randn(1, channels, side, side, generator=generator)
        .to(dtype)
        .contiguous(memory_format=torch.channels_last)
    )
    flops = 2 * channels * channels * 9 * side * side
    started = time.perf_counter()
    with torch.inference_mode():
        conv(x)
        best = time.perf_counter() - started
        for _ in range(TIMED_CALLS):
            if time.perf_counter() - started > budget_s:
                break
            start = time.perf_counter()
            conv(x)
            best = min(best, time.perf_counter() - start)
    return flops / best / 1e9, time.perf_counter() - started


def precision_peak(dtype: torch.dtype, budget_s: float) -> Dict[str, Any]:
    """The best GFLOP/s over :data:`SHAPES` in ``dtype``, within about ``budget_s`` seconds in all.

    Returns:
        ``gflops``, the ``shape`` that reached it, ``seconds`` spent and, when larger shapes were left out, ``note``.
    """
    share = budget_s / len(SHAPES)
    found: Dict[str, Any] = {'gflops': None, 'shape': None, 'seconds': 0.0}
    for channels, side in SHAPES:
        gflops, seconds = conv_gflops(dtype, channels, side, share)
        found['seconds'] += seconds
        if found['gflops'] is None or gflops > found['gflops']:
            found.update(gflops=gflops, shape=f'{channels} channels, {side} px')
        if seconds > 2 * share:
            found['note'] = f'larger shapes left out: {channels} channels at {side} px took {seconds:.1f} s'
            break
    return found


def measure_peaks(job: Dict[str, Any]) -> Dict[str, Any]:
    """Handler of the ``peak`` task: :func:`precision_peak` for each of ``job['precisions']``."""
    threads = torch_threads(job)
    peaks = {name: precision_peak(DTYPES[name], job['budget_s']) for name in job['precisions']}
    return {'peaks': peaks, 'threads': threads}


if __name__ == '__main__':
    run_worker({'peak': measure_peaks})
