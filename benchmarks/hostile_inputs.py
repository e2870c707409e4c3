"""Re-run the hostile set of issue 21 against the real command lines and the API, each case in a fresh process.

    python benchmarks/hostile_inputs.py [--only image|video|train|api|tools] [--keep]

Every case runs as a subprocess (as a user would run it), marked with an environment variable so that any process
it leaves behind can be found afterwards. A case passes when it ends with the documented exit code, its last
error line says why (one line, no traceback), no temporary file (``*.partial*``, ``*.tmp``) stays in its folders,
no input is changed, and no process of it is still running a second after it ended. Prints one row per case and
exits 1 if any case fails.
"""

import argparse
import glob
import io
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from PIL import Image

from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.video.sample_clip import panning_frames, write_clip
from realesrgan.zoo import save_checkpoint

REPO_ROOT = Path(__file__).resolve().parent.parent

MARKER = 'REALESRGAN_HOSTILE_CASE'
PROGRESS_MARKS = ('it/s', 'image/s', 'frame/s', 's/frame', 's/image', '%|')


@dataclass
class Case:
    """One hostile run: the command, what it must end with, and the folders that must stay clean."""

    group: str
    name: str
    argv: List[str]
    exit_code: int
    says: str
    folders: List[Path] = field(default_factory=list)
    unchanged: List[Path] = field(default_factory=list)
    kill_when: Optional[str] = None
    kill_signal: int = signal.SIGTERM
    no_new_entries: List[Path] = field(default_factory=list)


@dataclass
class Outcome:
    """What a case did."""

    exit_code: int
    last_line: str
    problems: List[str]


def image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def python(*args: str) -> List[str]:
    return [sys.executable, *args]


def message_lines(text: str) -> List[str]:
    """The lines of stderr/stdout that are not progress bars or log noise."""
    lines = []
    for line in text.replace('\r', '\n').splitlines():
        stripped = line.strip()
        if stripped and not any(mark in stripped for mark in PROGRESS_MARKS) and not stripped.startswith('INFO:'):
            lines.append(stripped)
    return lines


def leftover_processes(marker: str) -> List[int]:
    """Pids of running processes whose environment carries ``marker``."""
    found = []
    needle = f'{MARKER}={marker}'.encode()
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f'/proc/{entry}/environ', 'rb') as handle:
                if needle in handle.read().split(b'\0'):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def temporaries(folder: Path) -> List[str]:
    if not folder.exists():
        return []
    return [str(path) for path in folder.rglob('*') if '.partial' in path.name or path.name.endswith('.tmp')]


def run_case(case: Case, marker: str) -> Outcome:
    snapshots = {path: path.read_bytes() for path in case.unchanged}
    entries = {folder: set(os.listdir(folder)) if folder.exists() else set() for folder in case.no_new_entries}
    env = dict(os.environ, **{MARKER: marker}, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen(
        case.argv,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    if case.kill_when is not None:  # kill once the work is under way: a file or folder matching the pattern exists
        deadline = time.time() + 120
        while not glob.glob(case.kill_when) and process.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        os.kill(process.pid, case.kill_signal)
    try:
        out, err = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    problems = []
    lines = message_lines(err) or message_lines(out)
    last = lines[-1] if lines else ''
    if 'Traceback' in out + err:
        problems.append('traceback')
    if process.returncode != case.exit_code:
        problems.append(f'exit {process.returncode}, expected {case.exit_code}')
    if case.says not in out + err:
        problems.append(f'does not say "{case.says}"')
    deadline = time.time() + 5
    while leftover_processes(marker) and time.time() < deadline:
        time.sleep(0.2)
    if leftover_processes(marker):
        problems.append(f'processes left: {leftover_processes(marker)}')
        for pid in leftover_processes(marker):
            os.kill(pid, signal.SIGKILL)
    for folder in case.folders:
        problems += [f'left {path}' for path in temporaries(folder)]
    problems += [f'changed {path}' for path, content in snapshots.items() if path.read_bytes() != content]
    for folder, before in entries.items():
        problems += (
            [f'left {folder / name}' for name in sorted(set(os.listdir(folder)) - before)] if folder.exists() else []
        )
    return Outcome(process.returncode, last, problems)


def damaged_exif_jpeg(path: Path) -> Path:
    """A JPEG whose EXIF block declares a first entry far longer than the block."""
    exif = Image.Exif()
    exif[0x010F] = 'hostile camera'  # Make
    buffer = io.BytesIO()
    Image.fromarray(image(16, 16)).save(buffer, 'JPEG', exif=exif.tobytes())
    data = bytearray(buffer.getvalue())
    tiff = data.index(b'Exif\x00\x00') + 6
    order = 'little' if data[tiff : tiff + 2] == b'II' else 'big'
    first_ifd = tiff + int.from_bytes(data[tiff + 4 : tiff + 8], order)
    data[first_ifd + 6 : first_ifd + 10] = (100000).to_bytes(4, order)
    path.write_bytes(bytes(data))
    return path


def image_cases(root: Path, checkpoint: str) -> List[Case]:
    cli = ['inference_realesrgan.py', '--model_path', checkpoint, '--weights_dir', str(root / 'weights')]
    folder = root / 'photos'
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f'p{index}.png'), image(24, 24, index))
    (folder / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
    (folder / 'notes.txt').write_text('not an image')
    same = root / 'same'
    same.mkdir()
    cv2.imwrite(str(same / 'a.png'), image(8, 8))
    cv2.imwrite(str(same / 'a.jpg'), image(8, 8))
    big = root / 'big.png'
    cv2.imwrite(str(big), image(64, 64))
    (root / 'empty').mkdir()
    (root / 'blocker').write_text('a file where a folder should be')
    fifo = root / 'pipe'
    os.mkfifo(fifo)
    not_weights = root / 'not_weights.pth'
    not_weights.write_bytes(b'<html>rate limited</html>')
    out = root / 'out'
    one = str(folder / 'p0.png')
    damaged = root / 'damaged_out'
    damaged.mkdir()
    (damaged / 'p0_out.png').write_bytes(b'')  # an output a killed writer of an older version left empty
    bad_exif = damaged_exif_jpeg(root / 'bad_exif.jpg')

    def case(name: str, args: Sequence[str], code: int, says: str, **kwargs: object) -> Case:
        return Case(
            'image',
            name,
            python(*cli, *map(str, args)),
            code,
            says,
            folders=[out, folder, root / 'weights'],
            unchanged=list(folder.iterdir()),
            **kwargs,
        )

    return [
        case('missing input', ['-i', root / 'missing', '-o', out], 2, 'does not exist'),
        case('empty folder', ['-i', root / 'empty', '-o', out], 2, 'holds no files'),
        case('input /dev/null', ['-i', '/dev/null', '-o', out], 2, 'neither an image file nor a folder'),
        case('input a FIFO', ['-i', fifo, '-o', out], 2, 'neither an image file nor a folder'),
        case('negative tile', ['-i', one, '-o', out, '-t', '-8'], 2, '--tile must be a non-negative integer'),
        case('outscale -2', ['-i', one, '-o', out, '-s', '-2'], 2, '--outscale must be positive'),
        case('outscale inf', ['-i', one, '-o', out, '-s', 'inf'], 2, '--outscale must be positive and finite'),
        case('outscale nan', ['-i', one, '-o', out, '-s', 'nan'], 2, '--outscale must be positive and finite'),
        case('denoise 2', ['-i', one, '-o', out, '-dn', '2'], 2, '--denoise_strength must be between 0 and 1'),
        case(
            'alpha upsampler bogus',
            ['-i', one, '-o', out, '--alpha_upsampler', 'bogus'],
            2,
            '--alpha_upsampler must be one of',
        ),
        case('precision fp8', ['-i', one, '-o', out, '--precision', 'fp8'], 2, 'Unknown precision'),
        case('ext bmp', ['-i', one, '-o', out, '--ext', 'bmp'], 2, '--ext must be one of'),
        case(
            'weights dir is a file',
            ['-i', one, '-o', out, '--model_dir', root / 'blocker'],
            2,
            'is a file, not a folder',
        ),
        case('output is a file', ['-i', one, '-o', root / 'blocker' / 'out'], 2, 'Cannot write to the output folder'),
        case('two inputs, one output', ['-i', same, '-o', out, '--ext', 'png'], 2, 'would both be written'),
        case('outputs over the inputs', ['-i', folder, '-o', folder, '--suffix', ''], 2, 'would overwrite the input'),
        case('outscale 3000 (memory)', ['-i', big, '-o', out, '-s', '3000'], 1, 'GiB of memory'),
        case('a corrupt image in a folder', ['-i', folder, '-o', out], 1, 'Cannot decode image file'),
        case('max_pixels', ['-i', one, '-o', out, '--max_pixels', '100'], 1, 'more than the limit of 100'),
        case(
            'skip_existing, empty output',
            ['-i', one, '-o', damaged, '--skip_existing'],
            0,
            'the existing file is empty',
        ),
        case('damaged EXIF block', ['-i', bad_exif, '-o', out], 0, 'metadata of some inputs could not be read'),
        case('-t 64 on a 24 px image', ['-i', one, '-o', out, '-t', '64'], 0, 'fits in one tile of 64 px'),
        Case(
            'image',
            'weights file missing',
            python('inference_realesrgan.py', '-i', one, '-o', str(out), '--model_path', str(root / 'nope.pth')),
            2,
            'do not exist',
            folders=[out],
        ),
        Case(
            'image',
            'weights file is an HTML page',
            python('inference_realesrgan.py', '-i', one, '-o', str(out), '--model_path', str(not_weights)),
            2,
            'not_weights.pth',
            folders=[out],
        ),
        Case(
            'image',
            'unknown model name',
            python('inference_realesrgan.py', '-i', one, '-o', str(out), '-n', 'RealESRGAN_x5'),
            2,
            'Valid names',
            folders=[out],
        ),
        Case(
            'image',
            'face enhance without GFPGAN',
            python(
                '-c',
                'import sys, runpy; sys.modules["gfpgan"] = None; sys.argv = ["x", *sys.argv[1:]]; '
                'runpy.run_path("inference_realesrgan.py", run_name="__main__")',
                '-i',
                one,
                '-o',
                str(out),
                '--face_enhance',
                '--model_path',
                checkpoint,
            ),
            2,
            'needs GFPGAN',
            folders=[out],
        ),
    ]


def video_cases(root: Path) -> List[Case]:
    clip = root / 'clip.mp4'
    photo = cv2.imread(str(REPO_ROOT / 'inputs' / 'chelsea.jpg'))
    write_clip(str(clip), list(panning_frames(photo, (64, 48), 96)))
    long_clip = root / 'long.mp4'
    write_clip(str(long_clip), list(panning_frames(photo, (96, 64), 480)))
    truncated = root / 'truncated.mp4'
    moov_first = root / 'faststart.mp4'
    subprocess.run(
        python(
            '-c',
            textwrap.dedent(f"""
        import av
        with av.open({str(long_clip)!r}) as source, av.open({str(moov_first)!r}, 'w',
                options={{'movflags': 'faststart'}}) as target:
            streams = {{s.index: target.add_stream_from_template(s) for s in source.streams}}
            for packet in source.demux():
                if packet.dts is not None:
                    packet.stream = streams[packet.stream.index]
                    target.mux(packet)
        """),
        ),
        check=True,
        cwd=REPO_ROOT,
    )
    data = moov_first.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    text = root / 'notes.txt'
    text.write_text('not a video')
    out = root / 'video_out'
    weights = str(root / 'weights')
    cli = ['inference_realesrgan_video.py', '--weights_dir', weights]

    def case(name: str, args: Sequence[str], code: int, says: str, **kwargs: object) -> Case:
        kwargs.setdefault('folders', [out, root])
        return Case('video', name, python(*cli, *map(str, args)), code, says, unchanged=[clip], **kwargs)

    return [
        case('not a video', ['-i', text, '-o', out], 2, 'not a video'),
        case('missing file', ['-i', root / 'missing.mp4', '-o', out], 2, 'does not exist'),
        case('outscale -2', ['-i', clip, '-o', out, '-s', '-2'], 2, '--outscale must be positive'),
        case('crf 60', ['-i', clip, '-o', out, '--crf', '60'], 2, 'crf must be between 0 (lossless) and 51'),
        case(
            'no workers',
            ['-i', clip, '-o', out, '--num_process_per_gpu', '0'],
            2,
            'num_process_per_gpu must be at least 1',
        ),
        case('device tpu', ['-i', clip, '-o', out, '--device', 'tpu'], 2, "Unknown device 'tpu'"),
        case('truncated mp4', ['-i', truncated, '-o', out, '--suffix', 'cut'], 0, 'the file is truncated or damaged'),
        case(
            'SIGTERM mid-job, --no_resume',
            ['-i', long_clip, '-o', out, '--suffix', 'term', '--num_process_per_gpu', '2', '--no_resume'],
            143,
            'interrupted; nothing was written',
            kill_when=str(out / '.long_term.mp4.*.tmp' / 'segment_*'),
        ),
        case(  # its finished segments stay in the resume folder (the default), which the rerun below finishes
            'SIGKILL mid-job',
            ['-i', long_clip, '-o', out, '--suffix', 'kill', '--num_process_per_gpu', '2'],
            -9,
            '',
            folders=[],
            kill_when=str(out / '.long_kill.mp4.*.tmp' / 'segment_*'),
            kill_signal=signal.SIGKILL,
        ),
        case('rerun after SIGKILL', ['-i', long_clip, '-o', out, '--suffix', 'kill'], 0, 'frames reused'),
        Case(
            'video',
            'no PyAV',
            python(
                '-c',
                'import sys, runpy; sys.modules["av"] = None; sys.argv = ["x", *sys.argv[1:]]; '
                'runpy.run_path("inference_realesrgan_video.py", run_name="__main__")',
                '-i',
                str(clip),
            ),
            2,
            'pip install av',
        ),
    ]


def train_cases(root: Path) -> List[Case]:
    bad = root / 'train_options'
    bad.mkdir()
    (bad / 'syntax.yml').write_text('name: x\nnetwork_g: [type: RRDBNet\n')
    (bad / 'empty.yml').write_text('')
    demo = (REPO_ROOT / 'options' / 'demo_realesrnet_x4plus.yml').read_text()
    (bad / 'total_iter.yml').write_text(demo.replace('total_iter: ', 'total_iter: 1e5x #'))
    (bad / 'arch.yml').write_text(demo.replace('type: RRDBNet', 'type: RRDBNett', 1))
    cli = ['realesrgan/train.py', '-opt']
    experiments = REPO_ROOT / 'experiments'

    def case(name: str, args: Sequence[str], says: str) -> Case:
        return Case(
            'train',
            name,
            python(*cli, *map(str, args)),
            2,
            says,
            folders=[experiments],
            no_new_entries=[experiments, REPO_ROOT / 'tb_logger'],
        )

    return [
        case('missing -opt file', [bad / 'missing.yml'], 'missing.yml'),
        case('YAML syntax error', [bad / 'syntax.yml'], 'YAML syntax error'),
        case('empty YAML', [bad / 'empty.yml'], 'empty'),
        case('total_iter typo', [bad / 'total_iter.yml'], 'not a whole number'),
        case('unknown architecture', [bad / 'arch.yml'], 'RRDBNet'),
        case(
            '--force_yml without =',
            [REPO_ROOT / 'options' / 'demo_realesrnet_x4plus.yml', '--force_yml', 'x'],
            'needs exactly one "="',
        ),
    ]


def api_cases(root: Path, checkpoint: str) -> List[Case]:
    prologue = (
        'import numpy as np, torch, realesrgan; from realesrgan.archs.srvgg_arch import SRVGGNetCompact; '
        'from realesrgan import RealESRGANer; '
        f'up = RealESRGANer(4, {checkpoint!r}, model=SRVGGNetCompact(num_feat=4, num_conv=1), device="cpu"); '
        'img = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8); '
    )

    def case(name: str, code: str, exit_code: int, says: str) -> Case:
        return Case('api', name, python('-c', prologue + code), exit_code, says)

    guarded = (
        'import sys\ntry:\n    {}\nexcept (ValueError, OSError) as error:\n    print(error, file=sys.stderr); '
        'sys.exit(3)'
    )
    return [
        case(
            'float image in [0, 1]',
            'out, _ = up.enhance(img.astype(np.float32) / 255); '
            'ref, _ = up.enhance(img); assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1; print("same")',
            0,
            'same',
        ),
        case(
            'NaN in the image',
            guarded.format('f = img.astype(np.float32); f[0, 0, 0] = np.nan; up.enhance(f)'),
            3,
            'NaN or infinite values',
        ),
        case('negative strides', 'out, _ = up.enhance(img[:, :, ::-1]); print(out.shape)', 0, '(32, 32, 3)'),
        case(
            'outscale inf',
            guarded.format('up.enhance(img, outscale=float("inf"))'),
            3,
            'outscale must be positive and finite',
        ),
        case(
            'bool mask',
            'm = np.zeros((8, 8), bool); m[2:6, 2:6] = True; out, _ = up.enhance(m); print("max", out.max())',
            0,
            'max 2',
        ),
        case(
            'negative int8', guarded.format('up.enhance(img.astype(np.int8) - 100)'), 3, 'int8 image has values from -'
        ),
        case('int64 beyond 16 bits', guarded.format('up.enhance(img.astype(np.int64) * 1000)'), 3, 'rescale it'),
        case('complex image', guarded.format('up.enhance(img.astype(np.complex64))'), 3, 'complex (complex64)'),
        case(
            'tiled 1x60000 strip',
            'import resource; t = RealESRGANer(4, None, model=up.model, tile=24, device="cpu"); '
            'out, _ = t.enhance(np.zeros((1, 60000, 3), np.uint8)); '
            'peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024; '
            'print(out.shape, "bounded" if peak < 3000 else f"peak {peak} MB")',
            0,
            '(4, 240000, 3) bounded',
        ),
        case(
            'pre_pad 50000 (memory)',
            guarded.replace('(ValueError, OSError)', '(ValueError, OSError, MemoryError)').format(
                'RealESRGANer(4, None, model=up.model, pre_pad=50000, device="cpu").enhance(img)'
            ),
            3,
            'GiB of memory',
        ),
        case(
            'one wrong-shaped tensor',
            guarded.format(
                's = dict(up.model.state_dict()); s["body.2.weight"] = torch.zeros(4, 5, 3, 3); '
                'torch.save({"params": s}, "/tmp/hostile-wrong-shape.pth"); '
                'from realesrgan.zoo import build_model_from_checkpoint; '
                'build_model_from_checkpoint("/tmp/hostile-wrong-shape.pth")'
            ),
            3,
            'wrong shape: body.2.weight [4, 5, 3, 3] (expected [4, 4, 3, 3])',
        ),
        case(
            'URL that cannot be reached',
            guarded.format(
                'RealESRGANer(4, "http://127.0.0.1:9/x.pth", model=SRVGGNetCompact(num_feat=4, num_conv=1))'
            ),
            3,
            'cannot reach 127.0.0.1:9',
        ),
    ]


def tool_cases(root: Path, checkpoint: str) -> List[Case]:
    gt = root / 'eval_gt'
    gt.mkdir()
    cv2.imwrite(str(gt / 'a.png'), image(16, 16))

    def case(name: str, argv: List[str], code: int, says: str) -> Case:
        return Case('tools', name, argv, code, says, folders=[root])

    return [
        case(
            'evaluate --csv read-only',
            python('scripts/evaluate.py', '--sr', str(gt), '--gt', str(gt), '--csv', '/sys/values.csv'),
            2,
            '--csv: cannot write /sys/values.csv',
        ),
        case(
            'pytorch2onnx --output read-only',
            python('scripts/pytorch2onnx.py', '--input', checkpoint, '--output', '/sys/model.onnx'),
            1,
            '--output: cannot write /sys/model.onnx',
        ),
        case(
            'pytorch2ncnn --input missing',
            python('scripts/pytorch2ncnn.py', '--input', str(root / 'RealESRGAN_x2plus.pth'), '--output', '/tmp/m'),
            2,
            'not found; RealESRGAN_x2plus is an official model',
        ),
        case('web --tile_batch 0', python('app.py', '--tile_batch', '0'), 2, '--tile_batch must be a positive'),
        case('web --max_file_size abc', python('app.py', '--max_file_size', 'abc'), 2, '--max_file_size must be'),
        case('web --listen elsewhere', python('app.py', '--listen', '10.255.254.253'), 2, 'not an address of this'),
        case(
            'web upload named .photo.png',
            python(
                '-c',
                'import cv2, numpy as np; from realesrgan.web.cancel_board import CancelToken; '
                'from realesrgan.web.image_handler import ImageChoices, upscale_images; '
                'from realesrgan.web.workspace import Workspace; '
                f'import shutil; space = Workspace({str(root)!r}); path = space.gradio_cache + "/.photo.png"; '
                'cv2.imwrite(path, np.zeros((8, 8, 3), np.uint8)); '
                f'model = shutil.copy({checkpoint!r}, space.gradio_cache); '
                'server = dict(device="cpu", precision="fp32", tile_blend=22, tile_batch=1, max_pixels=0); '
                'result = upscale_images([path], ImageChoices(model_file=model), server, space, '
                'CancelToken(), lambda *_: None); space.remove(); print(result.message)',
            ),
            0,
            '1 of 1 image(s) upscaled into the downloads below',
        ),
    ]


def small_checkpoint(root: Path) -> str:
    torch.manual_seed(0)
    path = str(root / 'small.pth')
    save_checkpoint(SRVGGNetCompact(num_feat=4, num_conv=1).state_dict(), path, 'params')
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--only', choices=('image', 'video', 'train', 'api', 'tools'), default=None, help='one group')
    parser.add_argument('--keep', action='store_true', help='keep the temporary folder (its path is printed)')
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix='hostile-'))
    checkpoint = small_checkpoint(root)
    makers: Dict[str, Callable[[], List[Case]]] = {
        'image': lambda: image_cases(root, checkpoint),
        'api': lambda: api_cases(root, checkpoint),
        'train': lambda: train_cases(root),
        'video': lambda: video_cases(root),
        'tools': lambda: tool_cases(root, checkpoint),
    }
    cases = [one for group, make in makers.items() if args.only in (None, group) for one in make()]
    failed = 0
    print(f'{"group":6} {"case":32} {"exit":>5}  {"verdict":7} last line')
    for number, case in enumerate(cases):
        outcome = run_case(case, f'{os.getpid()}-{number}')
        verdict = 'ok' if not outcome.problems else 'FAIL'
        failed += bool(outcome.problems)
        print(f'{case.group:6} {case.name:32} {outcome.exit_code:>5}  {verdict:7} {outcome.last_line[:150]}')
        for problem in outcome.problems:
            print(f'{"":47}  - {problem}')
    print(f'{len(cases) - failed} passed, {failed} failed')
    if args.keep:
        print(f'kept {root}')
    else:
        subprocess.run(['rm', '-rf', str(root)], check=False)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
