"""Video frames per second: this project's video command line against the original's inference_realesrgan_video.py.

    python benchmarks/video_fps.py --original-script Real-ESRGAN/inference_realesrgan_video.py
    python benchmarks/video_fps.py --seconds 2 --skip-original          # ours only, a quick look

Both upscale the same clip (a pan over ``inputs/chelsea.jpg``, ``--seconds`` at 24 fps, ``--size``, with an AAC
tone, written by ``realesrgan.video.sample_clip``) with the same model (realesr-animevideov3, x4) and the same
weights file; the original runs with ``--fp32`` (its fp16 default fails or crawls on CPUs), ours at its default
precision (``--precision auto``), and also with ``--fp32`` where that default is not fp32. Each is timed as the
whole command, from start to the finished file, after a warm-up run of both on a tiny clip, so that cold file
caches fall on neither; ``--rounds`` repeats the timed runs alternately and keeps the median. Printed: frames/s
of each, the frame count and audio of each output, and the PSNR of our frames against the original's (both
encoded by x264 at crf 23, so this includes two encoders' losses).

The original's video script is not in any ``realesrgan`` release on PyPI (the 0.3.0 sdist ships
``inference_realesrgan.py`` only): give a copy from a checkout of xinntao/Real-ESRGAN with ``--original-script``
(or ``$REALESRGAN_BENCH_ORIGINAL_VIDEO_SCRIPT``); its SHA-256 is printed. It runs with the original package
``realesrgan==0.3.0`` from the environment ``benchlib/original_env.py`` makes, which also holds ``ffmpeg-python`` and
``imageio-ffmpeg`` (whose ``ffmpeg`` program the script calls; the benchmark's own environment only). The
script cannot run on a CPU as released, so the harness patches exactly two lines of its own copy, and says so:
``num_gpus = torch.cuda.device_count()`` gives 0 processes there ("Number of processes must be at least 1"), and
``torch.cuda.synchronize(device)`` fails without CUDA. ``ffmpeg.probe`` needs an ``ffprobe`` program, which
imageio-ffmpeg does not ship: ``benchlib/ffprobe_standin.py`` answers its one query with PyAV.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
from benchlib.machine import describe_machine, header_lines
from benchlib.original_env import default_venv_dir, ensure_original_python, isolated, worker_python
from benchlib.workers import BENCH_DIR, REPO_ROOT, run_job, worker_env

import realesrgan  # noqa: F401 (first: makes BasicSR importable on current torchvision)
from realesrgan.metrics import psnr
from realesrgan.video.reader import probe_source, read_frames
from realesrgan.video.sample_clip import panning_frames, write_clip
from realesrgan.zoo import resolve_model_path

MODEL = 'realesr-animevideov3'
FPS = 24
TARGET_SPEEDUP = 2.0
SCRIPT_ENV = 'REALESRGAN_BENCH_ORIGINAL_VIDEO_SCRIPT'
# (line of the released script, its replacement): the only changes made to the harness's copy
CPU_PATCHES = (
    ('num_gpus = torch.cuda.device_count()', 'num_gpus = max(1, torch.cuda.device_count())'),
    (
        'torch.cuda.synchronize(device)',
        'torch.cuda.synchronize(device) if torch.cuda.is_available() else None',
    ),
)
PATCH_NOTE = '  # patched by benchmarks/video_fps.py to run on a CPU'


@dataclass
class Run:
    """One timed command and what it wrote.

    Attributes:
        label: ``'original --fp32'``, ``'ours (auto: fp32)'``, ...
        command: The command line.
        seconds: Wall time of each timed run.
        output: The video written by the last run.
        frames: Frames in that video.
        audio: Its audio stream (codec and seconds), or None.
        peak_rss_mib: Peak memory of the original's process (ours runs several processes: not measured).
        error: Why it produced no result.
    """

    label: str
    command: str
    seconds: List[float] = field(default_factory=list)
    output: Optional[str] = None
    frames: Optional[int] = None
    audio: Optional[str] = None
    peak_rss_mib: Optional[float] = None
    error: Optional[str] = None

    @property
    def fps(self) -> Optional[float]:
        """Output frames per second of wall time (median of the timed runs)."""
        if self.error or not self.seconds or not self.frames:
            return None
        return self.frames / statistics.median(self.seconds)


def parse_size(text: str) -> Tuple[int, int]:
    """``--size``: ``WIDTHxHEIGHT`` with even numbers (yuv420p)."""
    try:
        width, height = (int(value) for value in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'not a size: {text!r} (use WIDTHxHEIGHT, e.g. 320x180)') from None
    if width < 2 or height < 2 or width % 2 or height % 2:
        raise argparse.ArgumentTypeError(f'the size needs even numbers of at least 2, got {text}')
    return width, height


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (see ``--help``)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument('--seconds', type=float, default=10.0, help='length of the clip at 24 fps')
    parser.add_argument('--size', type=parse_size, default=(320, 180), help='WIDTHxHEIGHT of the clip')
    parser.add_argument('--rounds', type=int, default=1, help='timed runs of each command, alternating')
    parser.add_argument(
        '--original-script',
        default=os.environ.get(SCRIPT_ENV),
        help=f"the original's inference_realesrgan_video.py (a checkout of xinntao/Real-ESRGAN; or ${SCRIPT_ENV})",
    )
    parser.add_argument('--skip-original', action='store_true', help='time ours only')
    parser.add_argument('--original-venv', default=str(default_venv_dir()), help='environment of realesrgan==0.3.0')
    parser.add_argument('--weights-dir', default=str(REPO_ROOT / 'weights'), help='where the weights are cached')
    parser.add_argument('--photo', default=str(REPO_ROOT / 'inputs' / 'chelsea.jpg'), help='what the clip pans over')
    parser.add_argument('--json', metavar='PATH', help='also write the results to this JSON file')
    parser.add_argument('--keep-work-dir', action='store_true', help='keep the clips and outputs')
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rounds < 1:
        parser.error('--seconds must be positive and --rounds at least 1')
    if not args.skip_original and args.original_script and not os.path.isfile(args.original_script):
        parser.error(f'--original-script {args.original_script} is not a file')
    return args


def make_clip(path: Path, photo_path: str, size: Tuple[int, int], num_frames: int) -> None:
    """Write the benchmark clip: ``num_frames`` of a pan over the photo at 24 fps, with an AAC tone."""
    photo = cv2.imread(photo_path, cv2.IMREAD_COLOR)
    if photo is None:
        raise SystemExit(f'error: cannot read the photo {photo_path} (give one with --photo)')
    write_clip(str(path), list(panning_frames(photo, size, num_frames)), fps=FPS)


def patch_for_cpu(script: str, destination: Path) -> List[str]:
    """Copy the original's video script with the two lines of :data:`CPU_PATCHES` replaced; return what changed.

    Args:
        script: The released script.
        destination: Where the patched copy goes.

    Returns:
        One ``'line N: old -> new'`` entry per patched line.

    Raises:
        SystemExit: A line to patch is missing or there twice: this is not the script the harness knows.
    """
    lines = Path(script).read_text(encoding='utf-8').splitlines(keepends=True)
    changes = []
    for old, new in CPU_PATCHES:
        found = [number for number, line in enumerate(lines) if line.strip() == old]
        if len(found) != 1:
            raise SystemExit(
                f'error: {script} has {len(found)} lines "{old}", the released script has one: give the original '
                'inference_realesrgan_video.py'
            )
        number = found[0]
        indent = lines[number][: len(lines[number]) - len(lines[number].lstrip())]
        lines[number] = f'{indent}{new}{PATCH_NOTE}\n'
        changes.append(f'line {number + 1}: {old} -> {new}')
    destination.write_text(''.join(lines), encoding='utf-8')
    return changes


def original_tools(python: str, folder: Path) -> Path:
    """A folder with the programs the original's script calls: ``ffmpeg`` (imageio-ffmpeg's) and ``ffprobe``.

    Args:
        python: The original environment's interpreter (which holds imageio-ffmpeg).
        folder: Where to make the folder.

    Returns:
        The folder, to put first on the script's PATH.
    """
    tools = folder / 'tools'
    tools.mkdir()
    found = subprocess.run(
        isolated(python) + ['-c', 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())'],
        capture_output=True,
        text=True,
        check=True,
    )
    (tools / 'ffmpeg').symlink_to(found.stdout.strip().splitlines()[-1])
    probe = tools / 'ffprobe'
    probe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{BENCH_DIR / "benchlib" / "ffprobe_standin.py"}" "$@"\n')
    probe.chmod(0o755)
    return tools


def describe_output(path: Path) -> Tuple[int, Optional[str]]:
    """Frames of a video and its first audio stream (``'aac, 10.00 s'``), or None for no audio."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for packet in container.demux(video) if packet.size)
        if not container.streams.audio:
            return frames, None
        audio = container.streams.audio[0]
        seconds = float(audio.duration * audio.time_base) if audio.duration else 0.0
        return frames, f'{audio.codec_context.name}, {seconds:.2f} s'


def frame_psnr(ours: Path, theirs: Path) -> Optional[Tuple[float, float]]:
    """Mean and lowest PSNR of our decoded frames against theirs (None when the frame counts or sizes differ)."""
    sources = [probe_source(str(path)) for path in (ours, theirs)]
    if sources[0].num_frames != sources[1].num_frames or (sources[0].width, sources[0].height) != (
        sources[1].width,
        sources[1].height,
    ):
        return None
    values = [
        min(psnr(a, b), 100.0)
        for (_, a), (_, b) in zip(
            read_frames(sources[0], 0, sources[0].num_frames), read_frames(sources[1], 0, sources[1].num_frames)
        )
    ]
    return statistics.mean(values), min(values)


def timed(command: List[str], cwd: Path) -> Tuple[float, subprocess.CompletedProcess]:
    """Run a command; its wall time and result."""
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, completed


def failure(completed: subprocess.CompletedProcess) -> str:
    """The last line a failed command wrote."""
    lines = (completed.stderr or completed.stdout or 'no output').strip().splitlines()
    return f'exit status {completed.returncode}: {lines[-1] if lines else ""}'


class OriginalCommand:
    """The original's video script, patched, in the original's environment, with its weights and programs.

    Args:
        python: The environment's interpreter.
        script: The patched copy of the script.
        tools: Folder of ``ffmpeg`` and ``ffprobe`` for its PATH.
        weights: The realesr-animevideov3 weights (the script looks for ``weights/<model>.pth`` in its folder).
        folder: Working folder of its runs.
    """

    def __init__(self, python: str, script: Path, tools: Path, weights: str, folder: Path) -> None:
        self.python, self.script, self.tools, self.folder = python, script, tools, folder
        (folder / 'weights').mkdir()
        (folder / 'weights' / f'{MODEL}.pth').symlink_to(os.path.abspath(weights))

    def run(self, clip: Path, output: Path, run: Run, index: int) -> None:
        """Upscale ``clip`` into the folder ``output`` once; add the time (or the error) to ``run``."""
        job = {
            'task': 'script',
            'script': str(self.script),
            'argv': ['-i', str(clip), '-o', str(output), '-n', MODEL, '-s', '4', '--fp32'],
            'cwd': str(self.folder),
            'path_prefix': str(self.tools),
        }
        done = run_job(
            worker_python(self.python), 'original_worker', job, self.folder / f'job_{index}.json', worker_env()
        )
        written = output / f'{clip.stem}_out.mp4'
        if done.result is None or not written.exists():
            run.error = done.error or f'no output video {written}'
            return
        run.seconds.append(done.seconds)
        run.output = str(written)
        run.peak_rss_mib = done.result['peak_rss_mib']


def our_command(clip: Path, output: Path, weights_dir: str, fp32: bool) -> List[str]:
    """Our video command line on ``clip`` (the default precision, or ``--fp32``)."""
    command = [sys.executable, str(REPO_ROOT / 'inference_realesrgan_video.py'), '-i', str(clip), '-o', str(output)]
    return command + ['-n', MODEL, '-s', '4', '--weights_dir', weights_dir] + (['--fp32'] if fp32 else [])


def run_ours(clip: Path, output: Path, weights_dir: str, fp32: bool, run: Run) -> None:
    """Upscale ``clip`` with our command line once; add the time (or the error) to ``run``."""
    seconds, completed = timed(our_command(clip, output, weights_dir, fp32), REPO_ROOT)
    written = output / f'{clip.stem}_out.mp4'
    if completed.returncode != 0 or not written.exists():
        run.error = failure(completed)
        return
    run.seconds.append(seconds)
    run.output = str(written)


def sha256(path: str) -> str:
    """SHA-256 of a file, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def prepare_original(args: argparse.Namespace, work: Path, weights: str, notes: List[str]) -> Optional[OriginalCommand]:
    """The original's command, or None (with the reason in ``notes``) when it is not to be run."""
    if args.skip_original:
        return None
    if not args.original_script:
        notes.append(
            f'original: not run: give its inference_realesrgan_video.py with --original-script (or ${SCRIPT_ENV}); '
            'it is in no realesrgan release on PyPI (git clone https://github.com/xinntao/Real-ESRGAN)'
        )
        return None
    python = str(ensure_original_python(Path(args.original_venv)))
    (work / 'original').mkdir()
    script = work / 'original' / 'inference_realesrgan_video.py'
    changes = patch_for_cpu(args.original_script, script)
    notes.append(f'original script: {args.original_script} (sha256 {sha256(args.original_script)})')
    notes.extend(f'patched in the harness copy, {change}' for change in changes)
    notes.append('ffprobe for ffmpeg.probe: benchmarks/benchlib/ffprobe_standin.py (imageio-ffmpeg ships only ffmpeg)')
    return OriginalCommand(python, script, original_tools(python, work), weights, work / 'original')


def print_runs(runs: Dict[str, Run]) -> None:
    """The table: frames, median seconds, frames/s and the ratio to the original of each command."""
    print(f'{"command":<22} {"frames":>6} {"median s":>9} {"frames/s":>9} {"vs original":>12}  audio')
    reference = runs.get('original')
    for run in runs.values():
        if run.error:
            print(f'{run.label:<22} failed: {run.error}')
            continue
        ratio = run.fps / reference.fps if reference is not None and reference.fps and run.fps else None
        print(
            f'{run.label:<22} {run.frames:>6} {statistics.median(run.seconds):>9.1f} {run.fps:>9.2f} '
            f'{f"{ratio:.2f}x" if ratio else "-":>12}  {run.audio or "none"}'
        )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the comparison; 0 when ours reached the target (or the original was not run), 1 when not."""
    args = parse_args(argv)
    machine = describe_machine()
    for line in header_lines(machine):
        print(line)
    width, height = args.size
    num_frames = max(1, round(args.seconds * FPS))
    weights = resolve_model_path(MODEL, weights_dir=args.weights_dir, progress=False)
    default = machine['auto_precision']
    work = Path(tempfile.mkdtemp(prefix='realesrgan-video-bench-'))
    notes: List[str] = []
    try:
        clip, warmup = work / 'clip.mp4', work / 'warmup.mp4'
        make_clip(clip, args.photo, (width, height), num_frames)
        make_clip(warmup, args.photo, (32, 32), 2)
        print(f'clip: {num_frames} frames of {width}x{height} at {FPS} fps with an AAC tone, {MODEL} x4')

        original = prepare_original(args, work, weights, notes)
        runs: Dict[str, Run] = {}
        if original is not None:
            runs['original'] = Run('original --fp32', f'{original.script.name} -n {MODEL} -s 4 --fp32')
        variants = [(f'ours (auto: {default})', False)] + ([('ours --fp32', True)] if default != 'fp32' else [])
        for label, fp32 in variants:
            runs[label] = Run(label, ' '.join(our_command(Path('clip.mp4'), Path('out'), 'weights', fp32)[1:]))

        print('warm-up on a 2-frame clip ...')
        if original is not None:
            original.run(warmup, work / 'warmup_original', Run('warm-up', ''), 0)
        run_ours(warmup, work / 'warmup_ours', args.weights_dir, False, Run('warm-up', ''))
        for round_index in range(args.rounds):
            for number, (key, run) in enumerate(runs.items()):
                if run.error:
                    continue
                print(f'round {round_index + 1}: {run.label} ...', flush=True)
                output = work / f'out_{round_index}_{number}'
                if key == 'original':
                    original.run(clip, output, run, round_index + 1)
                else:
                    run_ours(clip, output, args.weights_dir, run.label.endswith('--fp32'), run)
        for run in runs.values():
            if run.output:
                run.frames, run.audio = describe_output(Path(run.output))

        print()
        print_runs(runs)
        reference, ours = runs.get('original'), runs[variants[0][0]]
        similarity = None
        if reference is not None and reference.output and ours.output:
            similarity = frame_psnr(Path(ours.output), Path(reference.output))
            print(
                "PSNR of our frames vs the original's: "
                + (f'mean {similarity[0]:.1f} dB, lowest {similarity[1]:.1f} dB' if similarity else 'not comparable')
            )
        for note in notes:
            print(note)
        status = 0
        if reference is not None and reference.fps and ours.fps:
            speedup = ours.fps / reference.fps
            passed = speedup >= TARGET_SPEEDUP and ours.frames == reference.frames == num_frames
            status = 0 if passed else 1
            print(
                f'{"PASS" if passed else "FAIL"}: video on this CPU kind ({machine["cpu_kind"]}): ours at the default '
                f'precision ({default}) >= {TARGET_SPEEDUP}x the original --fp32 frames/s, all {num_frames} frames: '
                f'{speedup:.2f}x'
            )
        if args.json:
            report = {
                'machine': machine,
                'clip': {'frames': num_frames, 'width': width, 'height': height, 'fps': FPS},
                'runs': {key: dict(asdict(run), fps=run.fps) for key, run in runs.items()},
                'psnr_vs_original': similarity,
                'notes': notes,
            }
            os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
            Path(args.json).write_text(json.dumps(report, indent=1))
            print(f'results written to {args.json}')
        return status
    finally:
        if args.keep_work_dir:
            print(f'clips and outputs kept in {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
