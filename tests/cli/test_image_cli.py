"""inference_realesrgan.py: the original's flags and outputs, and a clear answer to every kind of bad input."""

import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, WEIGHTS_DIR, load_root_script, official_weights

from realesrgan import RealESRGANer
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.cli import image as cli
from realesrgan.inference.face_enhance import GFPGAN_URL
from realesrgan.inference.model_choice import choose_model
from realesrgan.zoo import get_model_spec, save_checkpoint

pytestmark = pytest.mark.weights  # every test: the module's autouse fixture converts the weights

MODEL = 'realesr-animevideov3'


def test_the_script_runs_the_package_command_line():
    assert load_root_script('inference_realesrgan.py').main is cli.main


@pytest.fixture(scope='module', autouse=True)
def animevideo_weights() -> str:
    """The official weights, converted into weights/ before any run (so no run tries to download)."""
    return official_weights(MODEL)


def run(*args: str) -> int:
    return cli.main(['-n', MODEL, '--model_dir', str(WEIGHTS_DIR), *args])


def write(path: Path, img: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buffer = cv2.imencode(path.suffix, img)
    assert ok
    buffer.tofile(str(path))
    return path


def read(path: Path) -> np.ndarray:
    return cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_UNCHANGED)


def library(img: np.ndarray, outscale: float = 4, **kwargs) -> np.ndarray:
    options = dict(pre_pad=0, device='cpu', precision='fp32')
    options.update(kwargs)
    upsampler = RealESRGANer(4, official_weights(MODEL), model=get_model_spec(MODEL).build(), **options)
    return upsampler.enhance(img, outscale=outscale)[0]


def test_defaults_are_the_originals(tmp_path):
    args = cli.build_parser().parse_args([])
    assert (args.input, args.output, args.suffix, args.ext, args.alpha_upsampler) == (
        'inputs',
        'results',
        'out',
        'auto',
        'realesrgan',
    )
    assert (args.denoise_strength, args.tile, args.tile_pad, args.pre_pad) == (0.5, 0, 10, 0)
    assert (args.fp32, args.face_enhance, args.gpu_id, args.model_path) == (False, False, None, None)
    assert args.model_name is None and args.outscale is None  # RealESRGAN_x4plus and 4, or the file's / model's own
    (tmp_path / 'RealESRGAN_x4plus.pth').write_bytes(b'cached')  # found in the weights folder: nothing downloaded
    choice = choose_model(None, weights_dir=str(tmp_path))
    assert (choice.name, choice.netscale, choice.outscale) == ('RealESRGAN_x4plus', 4, 4.0)
    assert choice.model_paths == (str(tmp_path / 'RealESRGAN_x4plus.pth'),)
    short = cli.build_parser().parse_args(
        ['-i', 'a', '-n', 'b', '-o', 'c', '-dn', '0.1', '-s', '2', '-t', '8', '-g', '1']
    )
    assert (
        short.input,
        short.model_name,
        short.output,
        short.denoise_strength,
        short.outscale,
        short.tile,
        short.gpu_id,
    ) == ('a', 'b', 'c', 0.1, 2.0, 8, 1)


def test_folder_of_images(tmp_path, sample_bgr, sample_gray, sample_bgra, capsys):
    source = tmp_path / 'in'
    rgb = write(source / 'rgb.png', sample_bgr[:24, :20])
    write(source / 'gray.png', sample_gray[:16, :16])
    write(source / 'alpha.png', sample_bgra[:16, :12])
    write(source / 'photo.jpg', sample_bgr[:16, :16])
    (source / 'notes.txt').write_text('not an image')
    assert run('-i', str(source), '-o', str(tmp_path / 'out'), '-s', '2', '--fp32') == 0  # notes.txt: not a failure
    out = tmp_path / 'out'
    assert sorted(path.name for path in out.iterdir()) == [
        'alpha_out.png',
        'gray_out.png',
        'photo_out.jpg',
        'rgb_out.png',
    ]
    assert read(out / 'gray_out.png').shape == (32, 32)
    assert read(out / 'alpha_out.png').shape == (32, 24, 4)
    assert read(out / 'photo_out.jpg').shape == (32, 32, 3)
    assert np.array_equal(read(out / 'rgb_out.png'), library(read(rgb), outscale=2))
    printed = capsys.readouterr()
    assert '4 of 4 image(s) upscaled' in printed.out and 'notes.txt: not an image file' in printed.out


def test_default_precision_and_tile_flags_reach_the_library(tmp_path, sample_bgr):
    img_path = write(tmp_path / 'in' / 'a.png', sample_bgr[:48, :40])
    args = ('-t', '16', '--tile_pad', '4', '--tile_blend', '4', '--tile_batch', '3')
    assert run('-i', str(img_path), '-o', str(tmp_path / 'out'), *args) == 0
    expected = library(read(img_path), tile=16, tile_pad=4, tile_blend=4, tile_batch=3, precision='auto')
    assert np.array_equal(read(tmp_path / 'out' / 'a_out.png'), expected)


def test_extension_and_suffix(tmp_path, sample_bgr, sample_bgra):
    write(tmp_path / 'in' / 'photo.jpg', sample_bgr[:8, :8])
    write(tmp_path / 'in' / 'alpha.png', sample_bgra[:8, :8])
    assert run('-i', str(tmp_path / 'in'), '-o', str(tmp_path / 'out'), '--ext', 'jpg', '--suffix', '') == 0
    assert sorted(path.name for path in (tmp_path / 'out').iterdir()) == ['alpha.png', 'photo.jpg']  # RGBA: PNG


def test_non_ascii_paths(tmp_path, sample_bgr):
    source = write(tmp_path / 'входные 画像' / 'кот.png', sample_bgr[:8, :8])
    assert run('-i', str(source), '-o', str(tmp_path / 'выход')) == 0
    assert read(tmp_path / 'выход' / 'кот_out.png').shape == (32, 32, 3)


def test_bad_files_are_skipped_and_reported(tmp_path, sample_bgr, capsys):
    source = tmp_path / 'in'
    write(source / 'good.png', sample_bgr[:8, :8])
    png = cv2.imencode('.png', sample_bgr[:32, :32])[1].tobytes()
    (source / 'corrupt.png').write_bytes(png[: len(png) // 3])
    (source / 'notes.txt').write_text('hello')
    (source / 'sub').mkdir()
    assert run('-i', str(source), '-o', str(tmp_path / 'out')) == 1
    assert [path.name for path in (tmp_path / 'out').iterdir()] == ['good_out.png']
    printed = capsys.readouterr()
    assert '1 of 2 image(s) upscaled' in printed.out
    assert 'FAILED' in printed.out and 'corrupt.png: Cannot decode' in printed.out
    assert 'notes.txt: not an image file' in printed.out


@pytest.mark.parametrize(
    'args, message',
    [
        (('-i', '{tmp}/missing'), 'does not exist'),
        (('-i', '{tmp}/empty'), 'holds no files'),
        (('-i', '{img}', '-n', 'RealESRGAN_x5'), 'Valid names: RealESRGAN_x4plus, RealESRNet_x4plus'),
        (('-i', '{img}', '-t', '-8'), '--tile must be a non-negative integer, got -8'),
        (('-i', '{img}', '-s', '-2'), '--outscale must be positive'),
        (('-i', '{img}', '-o', '{tmp}/blocker/out'), 'Cannot write to the output folder'),
        (('-i', '{img}', '-dn', '2'), '--denoise_strength must be between 0 and 1'),
    ],
)
def test_runs_that_cannot_start_say_why(tmp_path, sample_bgr, capsys, args, message):
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'blocker').write_text('a file where the output folder should be')
    img = write(tmp_path / 'a.png', sample_bgr[:8, :8])
    args = [arg.format(tmp=tmp_path, img=img) for arg in args]
    args += [] if '-o' in args else ['-o', str(tmp_path / 'out')]
    args += [] if '-n' in args else ['-n', MODEL]
    assert cli.main(['--model_dir', str(WEIGHTS_DIR), *args]) == 2
    printed = capsys.readouterr()
    assert message in printed.err and 'Traceback' not in printed.err + printed.out


def test_one_pixel_image(tmp_path):
    img = write(tmp_path / 'dot.png', np.array([[[10, 200, 30]]], np.uint8))
    assert run('-i', str(img), '-o', str(tmp_path / 'out')) == 0
    output = read(tmp_path / 'out' / 'dot_out.png')
    assert output.shape == (4, 4, 3) and np.abs(output.astype(int) - [10, 200, 30]).max() < 60


def test_outputs_are_never_half_written(tmp_path, sample_bgr, monkeypatch, capsys):
    """The image is written under a temporary name and renamed: a failed write leaves no file at the output path."""
    img = write(tmp_path / 'a.png', sample_bgr[:8, :8])

    def fail(source, destination):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr('os.replace', fail)
    assert run('-i', str(img), '-o', str(tmp_path / 'out')) == 1
    assert not (tmp_path / 'out' / 'a_out.png').exists()
    assert 'a_out.png' in capsys.readouterr().out


def test_model_path_alone_detects_the_network(tmp_path, sample_bgr):
    img = write(tmp_path / 'a.png', sample_bgr[:16, :16])
    assert cli.main(['-i', str(img), '-o', str(tmp_path / 'named'), '--model_dir', str(WEIGHTS_DIR), '-n', MODEL]) == 0
    assert cli.main(['-i', str(img), '-o', str(tmp_path / 'file'), '--model_path', official_weights(MODEL)]) == 0
    assert np.array_equal(read(tmp_path / 'named' / 'a_out.png'), read(tmp_path / 'file' / 'a_out.png'))


def test_denoise_strength_blends_the_wdn_partner(tmp_path, sample_bgr):
    """-dn with realesr-general-x4v3: DNI with realesr-general-wdn-x4v3, weights [dn, 1 - dn] (own checkpoints)."""
    paths = []
    for seed, name in enumerate(('realesr-general-x4v3', 'realesr-general-wdn-x4v3')):
        torch.manual_seed(seed)
        paths.append(str(tmp_path / 'weights' / f'{name}.pth'))
        save_checkpoint(SRVGGNetCompact(num_conv=32).state_dict(), paths[-1], 'params')
    choice = choose_model('realesr-general-x4v3', denoise_strength=0.3, weights_dir=str(tmp_path / 'weights'))
    assert choice.model_paths == tuple(paths) and choice.dni_weight == (0.3, 0.7)
    assert (
        choose_model('realesr-general-x4v3', denoise_strength=1, weights_dir=str(tmp_path / 'weights')).dni_weight
        is None
    )

    img = write(tmp_path / 'a.png', sample_bgr[:12, :12])
    assert (
        cli.main(
            [
                '-i',
                str(img),
                '-o',
                str(tmp_path / 'out'),
                '-n',
                'realesr-general-x4v3',
                '-dn',
                '0.3',
                '--model_dir',
                str(tmp_path / 'weights'),
                '--fp32',
            ]
        )
        == 0
    )
    blended = RealESRGANer(4, paths, dni_weight=[0.3, 0.7], model=SRVGGNetCompact(num_conv=32), pre_pad=0, device='cpu')
    assert np.array_equal(read(tmp_path / 'out' / 'a_out.png'), blended.enhance(read(img))[0])


class FakeGFPGANer:
    """Stands in for gfpgan.GFPGANer: records what it is given, upscales with the background upsampler."""

    inputs = []

    def __init__(self, model_path, upscale, arch, channel_multiplier, bg_upsampler):
        self.upscale, self.bg_upsampler = upscale, bg_upsampler

    def enhance(self, img, has_aligned, only_center_face, paste_back):
        FakeGFPGANer.inputs.append(img.shape)
        return None, None, self.bg_upsampler.enhance(img, outscale=self.upscale)[0]


def test_face_enhance_without_gfpgan(tmp_path, sample_bgr, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, 'gfpgan', None)  # import gfpgan fails, as when it is not installed
    img = write(tmp_path / 'a.png', sample_bgr[:8, :8])
    assert run('-i', str(img), '-o', str(tmp_path / 'out'), '--face_enhance') == 2
    printed = capsys.readouterr()
    assert 'pip install gfpgan' in printed.err and 'Traceback' not in printed.err


def test_face_enhance_without_its_weights(tmp_path, sample_bgr, monkeypatch, capsys):

    def no_weights(**kwargs):
        raise OSError('<urlopen error [Errno -3] Temporary failure in name resolution>')

    monkeypatch.setitem(sys.modules, 'gfpgan', types.SimpleNamespace(GFPGANer=no_weights))
    img = write(tmp_path / 'a.png', sample_bgr[:8, :8])
    assert run('-i', str(img), '-o', str(tmp_path / 'out'), '--face_enhance') == 2
    printed = capsys.readouterr()
    assert GFPGAN_URL in printed.err and 'Traceback' not in printed.err


def test_face_enhance_gets_gray_images_as_three_channels(tmp_path, sample_gray, monkeypatch):
    monkeypatch.setitem(sys.modules, 'gfpgan', types.SimpleNamespace(GFPGANer=FakeGFPGANer))
    FakeGFPGANer.inputs.clear()
    img = write(tmp_path / 'gray.png', sample_gray[:8, :8])
    assert run('-i', str(img), '-o', str(tmp_path / 'out'), '--face_enhance', '-s', '2') == 0
    assert FakeGFPGANer.inputs == [(8, 8, 3)]
    assert read(tmp_path / 'out' / 'gray_out.png').shape == (16, 16, 3)


@pytest.mark.subprocess
def test_script_entry_point_reports_errors_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'inference_realesrgan.py'), '-i', str(tmp_path / 'nope')],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        timeout=300,
    )
    assert result.returncode == 2
    assert 'error: Input' in result.stderr and 'does not exist' in result.stderr and 'Traceback' not in result.stderr


def test_precision_help_names_both_cpu_kinds_that_get_bf16():
    from realesrgan.cli.image import build_parser

    text = ' '.join(build_parser().format_help().split())
    precision = text[text.index('--precision PRECISION Numeric') :][:300]
    assert 'AMX-BF16 (Intel)' in precision and 'AMD Zen 5' in precision
