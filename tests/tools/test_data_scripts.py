"""The data-preparation scripts end to end on temporary folders: outputs, their values, and bad input."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest
from basicsr.utils import FileClient, imfrombytes
from helpers import REPO_ROOT
from PIL import Image

from realesrgan.data.realesrgan_dataset import RealESRGANDataset

SCRIPTS = REPO_ROOT / 'scripts'


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` as a module (registered, so that multiprocessing can pickle its functions)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f'{name}.py')
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def write_noise(path: Path, h: int, w: int, seed: int = 0) -> np.ndarray:
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)
    return img


def exit_code_and_message(capsys, main, argv) -> tuple:
    """Run a script's main, expecting argparse to stop it; return its exit code and stderr."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    return stop.value.code, capsys.readouterr().err


HELP_OPTIONS = {
    'extract_subimages': [
        '--input',
        '--output',
        '--crop_size',
        '--step',
        '--thresh_size',
        '--n_thread',
        '--compression_level',
    ],
    'generate_meta_info': ['--input', '--root', '--meta_info', '--check'],
    'generate_meta_info_pairdata': ['--input', '--root', '--meta_info'],
    'generate_multiscale_DF2K': ['--input', '--output'],
    'create_lmdb': ['--input_folder', '--input', '--lmdb_path', '--output', '--compress_level'],
    'make_demo_dataset': ['--output', '--overwrite', 'meta_info_demo.txt', 'val/lq'],
}


@pytest.mark.parametrize('name', list(HELP_OPTIONS))
def test_help(name, capsys):
    with pytest.raises(SystemExit) as stop:
        load_script(name).main(['--help'])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert all(option in text for option in HELP_OPTIONS[name]), text


@pytest.mark.subprocess
def test_extract_subimages_counts_sizes_and_pixels(tmp_path, capsys):
    script = load_script('extract_subimages')
    source = write_noise(tmp_path / 'in' / '0001.png', 100, 130)
    write_noise(tmp_path / 'in' / '0002.png', 48, 48, seed=1)
    args = ['--input', str(tmp_path / 'in'), '--crop_size', '48', '--step', '24', '--n_thread', '2']
    assert script.main(args + ['--output', str(tmp_path / 'out')]) == 0
    names = sorted(p.name for p in (tmp_path / 'out').iterdir())
    # rows 0, 24, 48 + 52 flush with the bottom; columns 0, 24, 48, 72 + 82 flush with the right edge
    assert names == [f'0001_s{i:03d}.png' for i in range(1, 21)] + ['0002_s001.png']
    patches = {name: cv2.imread(str(tmp_path / 'out' / name)) for name in names}
    assert all(patch.shape == (48, 48, 3) for patch in patches.values())
    np.testing.assert_array_equal(patches['0001_s001.png'], source[:48, :48])
    np.testing.assert_array_equal(patches['0001_s007.png'], source[24:72, 24:72])
    np.testing.assert_array_equal(patches['0001_s020.png'], source[52:100, 82:130])
    # a 10-pixel strip is not worth an extra crop with thresh_size 10; the 4-pixel one even less
    assert script.main(args + ['--output', str(tmp_path / 'out10'), '--thresh_size', '10']) == 0
    assert len(list((tmp_path / 'out10').glob('0001_*.png'))) == 3 * 4


@pytest.mark.subprocess
def test_extract_subimages_bad_input(tmp_path, capsys):
    main = load_script('extract_subimages').main
    code, err = exit_code_and_message(capsys, main, ['--input', str(tmp_path / 'missing'), '--output', 'x'])
    assert code == 2 and 'input folder' in err and 'does not exist' in err
    (tmp_path / 'empty').mkdir()
    code, err = exit_code_and_message(capsys, main, ['--input', str(tmp_path / 'empty'), '--output', 'x'])
    assert code == 2 and 'holds no images' in err
    write_noise(tmp_path / 'in' / 'big.png', 60, 60)
    write_noise(tmp_path / 'in' / 'small.png', 30, 60)
    (tmp_path / 'in' / 'broken.png').write_bytes(b'garbage')
    out = tmp_path / 'out'
    assert main(['--input', str(tmp_path / 'in'), '--output', str(out), '--crop_size', '40', '--n_thread', '1']) == 1
    err = capsys.readouterr().err
    assert 'small.png" is 30x60, smaller than crop_size 40' in err and 'broken.png' in err
    assert sorted(p.name for p in out.iterdir()) == ['big_s001.png', 'big_s002.png', 'big_s003.png', 'big_s004.png']
    code, err = exit_code_and_message(capsys, main, ['--input', str(tmp_path / 'in'), '--output', str(out)])
    assert code == 2 and 'already exists and is not empty' in err


def test_generate_meta_info(tmp_path, capsys):
    main = load_script('generate_meta_info').main
    root = tmp_path / 'DF2K'
    write_noise(root / 'DF2K_HR' / '0001.png', 8, 8)
    write_noise(root / 'DF2K_HR' / '0002.png', 8, 8)
    write_noise(root / 'DF2K_multiscale' / '0001T0.png', 6, 6)
    (root / 'DF2K_multiscale' / 'readme.txt').write_text('not an image')
    meta_info = root / 'meta_info' / 'meta.txt'
    assert main(['--input', str(root / 'DF2K_HR'), str(root / 'DF2K_multiscale'), '--meta_info', str(meta_info)]) == 0
    assert meta_info.read_text().splitlines() == ['DF2K_HR/0001.png', 'DF2K_HR/0002.png', 'DF2K_multiscale/0001T0.png']
    # the list feeds RealESRGANDataset as its meta_info
    dataset = RealESRGANDataset({'dataroot_gt': str(root), 'meta_info': str(meta_info), 'io_backend': {'type': 'disk'}})
    assert dataset.paths[2] == str(root / 'DF2K_multiscale' / '0001T0.png')

    (root / 'DF2K_HR' / '0003.png').write_bytes(b'\x89PNG broken')
    assert (
        main(['--input', str(root / 'DF2K_HR'), '--root', str(tmp_path), '--meta_info', str(meta_info), '--check']) == 1
    )
    assert meta_info.read_text().splitlines() == ['DF2K/DF2K_HR/0001.png', 'DF2K/DF2K_HR/0002.png']
    assert '0003.png' in capsys.readouterr().err


def test_generate_meta_info_bad_input(tmp_path, capsys):
    main = load_script('generate_meta_info').main
    code, err = exit_code_and_message(capsys, main, ['--input', str(tmp_path / 'gone'), '--meta_info', 'm.txt'])
    assert code == 2 and 'gone" does not exist' in err
    (tmp_path / 'empty').mkdir()
    code, err = exit_code_and_message(capsys, main, ['--input', str(tmp_path / 'empty'), '--meta_info', 'm.txt'])
    assert code == 2 and 'holds no images' in err
    write_noise(tmp_path / 'a' / 'x.png', 4, 4)
    code, err = exit_code_and_message(
        capsys, main, ['--input', str(tmp_path / 'a'), '--root', str(tmp_path / 'b'), '--meta_info', 'm.txt']
    )
    assert code == 2 and 'is not inside its root' in err


def test_generate_meta_info_pairdata(tmp_path, capsys):
    main = load_script('generate_meta_info_pairdata').main
    for name in ('0001_s001', '0001_s002', '0002_s001'):
        write_noise(tmp_path / 'DIV2K' / 'HR_sub' / f'{name}.png', 8, 8)
        write_noise(tmp_path / 'DIV2K' / 'LR_sub' / f'{name}.png', 2, 2)
    meta_info = tmp_path / 'meta' / 'pair.txt'
    folders = [str(tmp_path / 'DIV2K' / 'HR_sub'), str(tmp_path / 'DIV2K' / 'LR_sub')]
    assert main(['--input', *folders, '--meta_info', str(meta_info)]) == 0
    assert meta_info.read_text().splitlines() == [
        'HR_sub/0001_s001.png, LR_sub/0001_s001.png',
        'HR_sub/0001_s002.png, LR_sub/0001_s002.png',
        'HR_sub/0002_s001.png, LR_sub/0002_s001.png',
    ]
    (tmp_path / 'DIV2K' / 'LR_sub' / '0002_s001.png').unlink()
    code, err = exit_code_and_message(capsys, main, ['--input', *folders, '--meta_info', str(meta_info)])
    assert code == 2 and 'has 3 images but LQ folder' in err and 'has 2' in err
    code, err = exit_code_and_message(capsys, main, ['--input', folders[0], str(tmp_path / 'x'), '--meta_info', 'm'])
    assert code == 2 and 'LQ folder' in err and 'does not exist' in err


def test_generate_multiscale_df2k(tmp_path, capsys):
    main = load_script('generate_multiscale_DF2K').main
    source = write_noise(tmp_path / 'HR' / '0001.png', 90, 120)
    write_noise(tmp_path / 'HR' / '0002.png', 150, 60, seed=3)
    (tmp_path / 'HR' / '0003.png').write_bytes(b'broken')
    assert main(['--input', str(tmp_path / 'HR'), '--output', str(tmp_path / 'multi')]) == 1
    assert '0003.png' in capsys.readouterr().err
    sizes = {p.name: Image.open(p).size for p in (tmp_path / 'multi').iterdir()}
    assert sizes == {
        '0001T0.png': (90, 67),
        '0001T1.png': (60, 45),
        '0001T2.png': (40, 30),
        '0001T3.png': (533, 400),
        '0002T0.png': (45, 112),
        '0002T1.png': (30, 75),
        '0002T2.png': (20, 50),
        '0002T3.png': (400, 1000),
    }
    expected = Image.fromarray(source[:, :, ::-1]).resize((60, 45), resample=Image.LANCZOS)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'multi' / '0001T1.png')), np.asarray(expected))
    code, err = exit_code_and_message(capsys, main, ['--input', str(tmp_path / 'none'), '--output', 'x'])
    assert code == 2 and 'does not exist' in err


def test_create_lmdb_single_and_pair(tmp_path, capsys):
    main = load_script('create_lmdb').main
    images = {name: write_noise(tmp_path / 'gt' / f'{name}.png', 12, 16, seed) for seed, name in enumerate(['a', 'b'])}
    write_noise(tmp_path / 'lq' / 'a.png', 3, 4)
    write_noise(tmp_path / 'lq' / 'b.png', 3, 4, seed=1)
    assert main(['--input_folder', str(tmp_path / 'gt')]) == 0  # default output: gt.lmdb beside the folder
    lmdb_path = tmp_path / 'gt.lmdb'
    assert (lmdb_path / 'meta_info.txt').read_text().splitlines() == ['a.png (12,16,3) 1', 'b.png (12,16,3) 1']
    client = FileClient('lmdb', db_paths=[str(lmdb_path)], client_keys=['gt'])
    for name, img in images.items():
        np.testing.assert_array_equal(imfrombytes(client.get(name, 'gt')), img)

    pair = [str(tmp_path / 'pair_gt.lmdb'), str(tmp_path / 'pair_lq.lmdb')]
    assert main(['--input', str(tmp_path / 'gt'), str(tmp_path / 'lq'), '--output', *pair]) == 0
    lq_client = FileClient('lmdb', db_paths=pair, client_keys=['gt', 'lq'])
    assert imfrombytes(lq_client.get('b', 'lq')).shape == (3, 4, 3)
    assert (Path(pair[1]) / 'meta_info.txt').read_text().splitlines() == ['a.png (3,4,3) 1', 'b.png (3,4,3) 1']


def test_create_lmdb_bad_input(tmp_path, capsys):
    main = load_script('create_lmdb').main
    code, err = exit_code_and_message(capsys, main, ['--input_folder', str(tmp_path / 'missing')])
    assert code == 2 and 'missing" does not exist' in err
    (tmp_path / 'empty').mkdir()
    code, err = exit_code_and_message(capsys, main, ['--input_folder', str(tmp_path / 'empty')])
    assert code == 2 and 'no readable images' in err
    write_noise(tmp_path / 'gt' / 'good.png', 8, 8)
    (tmp_path / 'gt' / 'bad.png').write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    code, err = exit_code_and_message(
        capsys, main, ['--input_folder', str(tmp_path / 'gt'), '--lmdb_path', str(tmp_path / 'db')]
    )
    assert code == 2 and 'must end with ".lmdb"' in err
    assert main(['--input_folder', str(tmp_path / 'gt')]) == 1
    assert 'bad.png": not a readable image' in capsys.readouterr().err
    assert (tmp_path / 'gt.lmdb' / 'meta_info.txt').read_text() == 'good.png (8,8,3) 1\n'
    code, err = exit_code_and_message(capsys, main, ['--input_folder', str(tmp_path / 'gt')])
    assert code == 2 and 'gt.lmdb" already exists' in err


def test_make_demo_dataset(tmp_path, capsys):
    script = load_script('make_demo_dataset')
    out = tmp_path / 'demo'
    assert script.main(['--output', str(out)]) == 0
    hr = sorted((out / 'hr').iterdir())
    assert len(hr) == 8 and len(list((out / 'val' / 'gt').iterdir())) == 4
    assert (out / 'meta_info' / 'meta_info_demo.txt').read_text().splitlines() == [f'hr/{p.name}' for p in hr]
    pair_lines = (out / 'meta_info' / 'meta_info_demo_pair.txt').read_text().splitlines()
    assert pair_lines[0] == 'hr/demo_00.png, lq/demo_00.png' and len(pair_lines) == 8
    for gt_path in hr + sorted((out / 'val' / 'gt').iterdir()):
        gt = cv2.imread(str(gt_path))
        lq = cv2.imread(str(gt_path.parent.parent / 'lq' / gt_path.name))  # hr -> lq, val/gt -> val/lq
        assert 128 <= min(gt.shape[:2]) and max(gt.shape[:2]) <= 192 and gt.shape[0] % 4 == gt.shape[1] % 4 == 0
        np.testing.assert_array_equal(lq, script.downscale_bicubic(gt, 4))
    # an earlier demo dataset is rewritten; a folder holding something else is refused
    assert script.main(['--output', str(out)]) == 0
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'keep.txt').write_text('user data')
    code, err = exit_code_and_message(capsys, script.main, ['--output', str(tmp_path / 'other')])
    assert code == 2 and 'pass --overwrite' in err and (tmp_path / 'other' / 'keep.txt').exists()


def test_make_sample_clip_writes_outside_the_tracked_inputs_folder(monkeypatch, capsys):
    script = load_script('make_sample_clip')
    written = []
    monkeypatch.setattr(script, 'write_clip', lambda path, frames: written.append((path, len(frames))))
    monkeypatch.setattr(script.os.path, 'getsize', lambda path: 30000)
    monkeypatch.setattr(sys, 'argv', ['make_sample_clip.py'])
    assert script.main() == 0
    assert written == [(str(REPO_ROOT / 'videos' / 'sample_clip.mp4'), 48)]
    assert 'Wrote' in capsys.readouterr().out


def test_make_sample_clip_makes_its_missing_folder(tmp_path, monkeypatch):
    pytest.importorskip('av')
    script = load_script('make_sample_clip')
    target = tmp_path / 'videos' / 'clip.mp4'  # videos/ is not in a fresh clone
    monkeypatch.setattr(
        sys, 'argv', ['make_sample_clip.py', '--output', str(target), '--size', '16x16', '--frames', '2']
    )
    assert script.main() == 0
    assert target.stat().st_size > 0
