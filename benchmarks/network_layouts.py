"""Time one forward pass of a bare official network in each memory layout and precision, in one process.

Prints the median time of contiguous fp32 (the original's layout), channels-last fp32, bf16 autocast and pure bf16
weights (both channels-last), each as a ratio to contiguous fp32. This is what ``--precision auto`` is based on:
on CPUs without AMX-BF16, bf16 is slower than channels-last fp32.

    python benchmarks/network_layouts.py --model realesr-animevideov3 --size 256
"""

import argparse
import os
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from realesrgan.zoo import get_model_spec  # noqa: E402  (the repository first, then BasicSR through it)


def median_time(forward: Callable[[], torch.Tensor], repeats: int) -> float:
    """Median wall time of ``forward`` over ``repeats`` runs, after one warm-up run."""
    forward()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(model_name: str, size: int, repeats: int) -> Dict[str, float]:
    """Median seconds per forward pass for each layout/precision (random weights: speed does not depend on them).

    Args:
        model_name: Official model name (its architecture is built from the zoo table).
        size: Side of the square random input.
        repeats: Timed runs per configuration.

    Returns:
        Configuration name -> median seconds.
    """
    torch.manual_seed(0)
    spec = get_model_spec(model_name)
    model = spec.build().eval()
    x = torch.rand(1, 3, size, size)
    results = {}
    with torch.inference_mode():
        results['contiguous fp32'] = median_time(lambda: model(x), repeats)
        model = model.to(memory_format=torch.channels_last)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        results['channels-last fp32'] = median_time(lambda: model(x_cl), repeats)

        def autocast_bf16() -> torch.Tensor:
            with torch.autocast('cpu', dtype=torch.bfloat16):
                return model(x_cl)

        results['channels-last bf16 autocast'] = median_time(autocast_bf16, repeats)
        model_bf16 = spec.build().eval().to(torch.bfloat16).to(memory_format=torch.channels_last)
        x_bf16 = x_cl.to(torch.bfloat16)
        results['channels-last bf16 weights'] = median_time(lambda: model_bf16(x_bf16), repeats)
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', default='realesr-animevideov3', help='official model name')
    parser.add_argument('--size', type=int, default=256, help='side of the square input')
    parser.add_argument('--repeats', type=int, default=3, help='timed runs per configuration')
    parser.add_argument('--threads', type=int, default=None, help='torch intra-op threads (default: torch default)')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    results = measure(args.model, args.size, args.repeats)
    baseline = results['contiguous fp32']
    print(f'{args.model}, {args.size}x{args.size}, {torch.get_num_threads()} threads, torch {torch.__version__}')
    for name, seconds in results.items():
        print(f'{name:30s} {seconds:8.3f} s   {baseline / seconds:5.2f}x contiguous fp32')
    return 0


if __name__ == '__main__':
    sys.exit(main())
