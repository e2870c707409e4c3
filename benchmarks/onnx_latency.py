"""CPU latency of an exported model on ONNX Runtime against the same model in PyTorch, measured in one run.

Exports the model (default realesr-animevideov3, weights resolved offline if needed) with
``realesrgan.export.onnx``, then times single-image inference at the given size in PyTorch and in ONNX Runtime
with the same number of threads, alternating the two so that load changes on a shared machine hit both alike.
Prints the medians and the ratio ONNX Runtime / PyTorch (below 1: ONNX Runtime is faster).

Usage:
    python benchmarks/onnx_latency.py [--model realesr-animevideov3] [--size 256] [--threads 1] [--repeats 10]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from benchlib.machine import cpu_description
from tqdm import tqdm

import realesrgan  # noqa: F401  (BasicSR compatibility first)
from realesrgan.export.onnx import export_onnx, onnx_session, run_onnx
from realesrgan.export.parity import output_psnr, torch_forward
from realesrgan.zoo import build_model_from_checkpoint, resolve_model_path


def timed(call, *args) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    call(*args)
    return time.perf_counter() - start


def main() -> None:
    """Export, warm up, time both runtimes alternately and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', default='realesr-animevideov3', help='official model name or .pth file')
    parser.add_argument('--size', type=int, default=256, help='input side in pixels (default 256)')
    parser.add_argument('--threads', type=int, default=1, help='threads for both runtimes (default 1)')
    parser.add_argument('--repeats', type=int, default=10, help='timed runs per runtime (default 10)')
    parser.add_argument(
        '--weights-dir',
        default=None,
        help='where official weights are cached (default: the weights location, see README)',
    )
    args = parser.parse_args()

    path = args.model if Path(args.model).is_file() else resolve_model_path(args.model, args.weights_dir)
    model, info = build_model_from_checkpoint(path)
    torch.set_num_threads(args.threads)
    image = np.random.default_rng(0).random((args.size, args.size, info.kwargs['num_in_ch']), dtype=np.float32)

    with tempfile.TemporaryDirectory() as folder:
        onnx_path = str(Path(folder) / 'model.onnx')
        export_onnx(model, onnx_path, info.kwargs['num_in_ch'])
        session = onnx_session(onnx_path, num_threads=args.threads)
        agreement = output_psnr(torch_forward(model, image), run_onnx(session, image))  # also the warm-up of both
        torch_times, onnx_times = [], []
        for _ in tqdm(range(args.repeats), desc=f'{args.size}x{args.size}'):
            torch_times.append(timed(torch_forward, model, image))
            onnx_times.append(timed(run_onnx, session, image))

    torch_ms, onnx_ms = 1000 * statistics.median(torch_times), 1000 * statistics.median(onnx_times)
    print(f'CPU: {cpu_description()}')
    print(
        f'{args.model} ({info.arch}), {args.size}x{args.size} input, {args.threads} thread(s), CPU, '
        f'median of {args.repeats}; outputs agree to {agreement:.1f} dB'
    )
    print(f'PyTorch {torch.__version__}: {torch_ms:.1f} ms')
    print(f'ONNX Runtime: {onnx_ms:.1f} ms')
    print(f'ratio ONNX Runtime / PyTorch: {onnx_ms / torch_ms:.2f}')


if __name__ == '__main__':
    main()
