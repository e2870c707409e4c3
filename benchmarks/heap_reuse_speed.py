"""Time a bare network's forward pass with glibc's default allocator settings and with freed memory kept.

Both run in one process, alternating round by round (the setting is switched with
``realesrgan.inference.heap_reuse.keep_freed_memory``), so both see the same machine load. Prints the median time and
the page faults of each, and the speed-up of keeping freed memory.

    python benchmarks/heap_reuse_speed.py --model RealESRGAN_x4plus --size 128
"""

import argparse
import resource
import statistics
import sys
import time
from typing import Dict, List, Optional, Tuple

import torch
from benchlib.machine import cpu_description

from realesrgan.inference.heap_reuse import keep_freed_memory
from realesrgan.inference.network_forward import forward_network
from realesrgan.zoo import get_model_spec

SETTINGS = {'glibc defaults': False, 'freed memory kept': True}


def timed_forward(model: torch.nn.Module, x: torch.Tensor) -> Tuple[float, int]:
    """Seconds and minor page faults of one forward pass."""
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    forward_network(model, x)
    return time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def measure(model_name: str, size: int, rounds: int) -> Dict[str, List[Tuple[float, int]]]:
    """Alternate the two allocator settings for ``rounds`` rounds (each after one untimed pass in that setting).

    Args:
        model_name: Official model name (random weights: speed does not depend on them).
        size: Side of the square input.
        rounds: Timed passes per setting.

    Returns:
        Setting name -> list of (seconds, page faults).
    """
    torch.manual_seed(0)
    model = get_model_spec(model_name).build().eval().to(memory_format=torch.channels_last)
    x = torch.rand(1, 3, size, size).contiguous(memory_format=torch.channels_last)
    results: Dict[str, List[Tuple[float, int]]] = {name: [] for name in SETTINGS}
    with torch.inference_mode():
        for _ in range(rounds):
            for name, keep in SETTINGS.items():
                if keep_freed_memory(keep) != keep:
                    raise SystemExit('This platform has no glibc: there is no allocator setting to compare.')
                forward_network(model, x)
                results[name].append(timed_forward(model, x))
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', default='RealESRGAN_x4plus', help='official model name')
    parser.add_argument('--size', type=int, default=128, help='side of the square input')
    parser.add_argument('--rounds', type=int, default=3, help='timed passes per setting')
    parser.add_argument('--threads', type=int, default=None, help='torch intra-op threads (default: torch default)')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    results = measure(args.model, args.size, args.rounds)
    medians = {name: statistics.median(seconds for seconds, _ in runs) for name, runs in results.items()}
    baseline = medians['glibc defaults']
    print(f'CPU: {cpu_description()}')
    print(
        f'{args.model}, {args.size}x{args.size}, channels-last fp32, {torch.get_num_threads()} threads, '
        f'{args.rounds} alternating rounds'
    )
    for name, runs in results.items():
        faults = statistics.median(count for _, count in runs)
        print(f'{name:18s} {medians[name]:8.3f} s  {faults:9.0f} page faults  {baseline / medians[name]:5.2f}x')
    return 0


if __name__ == '__main__':
    sys.exit(main())
