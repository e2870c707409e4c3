"""Worker: the machine's measured peak matrix-multiply throughput, per precision.

Run by ``inference_benchmark.py`` as ``python peak_flops.py job.json``. A square matmul of ``matmul_size`` is
large enough to run at the BLAS library's best speed; the best of a few runs is reported as the peak against
which the models' achieved GFLOP/s are compared.
"""

import time
from typing import Any, Dict

import torch
from measure import run_worker

DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def matmul_gflops(dtype: torch.dtype, size: int, repeats: int) -> float:
    """Best GFLOP/s of ``repeats`` square ``size`` x ``size`` matrix products in ``dtype`` (after a warm-up).

    Args:
        dtype: Element type of both operands.
        size: Matrix side length.
        repeats: Number of timed products.

    Returns:
        The best achieved GFLOP/s (2 * size**3 operations per product).
    """
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(dtype)
    b = torch.randn(size, size, generator=generator).to(dtype)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def measure_peaks(job: Dict[str, Any]) -> Dict[str, Any]:
    """Handler of the ``peak`` task: GFLOP/s for each precision in ``job['precisions']``."""
    torch.set_num_threads(job['threads'])
    peaks = {}
    for name in job['precisions']:
        try:
            peaks[name] = matmul_gflops(DTYPES[name], job['matmul_size'], job['repeats'])
        except RuntimeError as error:  # a precision this CPU build cannot multiply
            peaks[name] = None
            peaks[f'{name}_error'] = str(error).splitlines()[0]
    return {'peak_gflops': peaks}


if __name__ == '__main__':
    run_worker({'peak': measure_peaks})
