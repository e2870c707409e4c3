"""Folders through the image job: --recursive mirrors the tree, --skip_existing resumes, names are checked first."""

from pathlib import Path
from typing import List

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.batch.plan import decodes_with_alpha, plan_batch
from realesrgan.cli import image as cli
from realesrgan.zoo import save_checkpoint

TREE = ('top.png', 'one/a.jpg', 'one/two/b.png', 'one/two/three/c.webp', 'other/d.tif')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('weights') / 'small.pth')
    save_checkpoint(SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4).eval().state_dict(), path, 'params')
    return path


def run(tmp_path: Path, checkpoint: str, *args) -> int:
    return cli.main(['--model_path', checkpoint, '--weights_dir', str(tmp_path / 'weights'), *map(str, args)])


def image(seed: int, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (6, 8, channels), dtype=np.uint8)


def make_tree(root: Path, names=TREE) -> Path:
    for seed, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), image(seed))
    (root / 'notes.txt').write_text('not an image')
    (root / '.hidden').mkdir()
    cv2.imwrite(str(root / '.hidden' / 'secret.png'), image(9))
    return root


def files_under(folder: Path) -> List[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob('*') if path.is_file())


def test_recursive_mirrors_a_three_level_tree(tmp_path, checkpoint, capsys):
    source = make_tree(tmp_path / 'in')
    assert run(tmp_path, checkpoint, '-i', source, '-o', tmp_path / 'out', '--recursive') == 0
    assert files_under(tmp_path / 'out') == sorted(
        ['top_out.png', 'one/a_out.jpg', 'one/two/b_out.png', 'one/two/three/c_out.webp', 'other/d_out.tif']
    )
    for name in TREE:
        stem, suffix = name.rsplit('.', 1)
        output = cv2.imread(str(tmp_path / 'out' / f'{stem}_out.{suffix}'), cv2.IMREAD_UNCHANGED)
        assert output.shape == (24, 32, 3)
    out = capsys.readouterr().out
    assert '5 of 5 image(s)' in out and '1 not images, skipped' in out and 'secret' not in out


def test_without_recursive_only_the_top_folder(tmp_path, checkpoint):
    source = make_tree(tmp_path / 'in')
    assert run(tmp_path, checkpoint, '-i', source, '-o', tmp_path / 'out') == 0
    assert files_under(tmp_path / 'out') == ['top_out.png']


def test_an_output_folder_inside_the_input_is_not_an_input(tmp_path, checkpoint):
    source = make_tree(tmp_path / 'in')
    output = source / 'results'
    for _ in range(2):  # the second run must not upscale the first run's outputs
        assert run(tmp_path, checkpoint, '-i', source, '-o', output, '--recursive') == 0
    assert len(files_under(output)) == len(TREE)


def test_skip_existing_upscales_only_what_is_missing(tmp_path, checkpoint, capsys):
    source = make_tree(tmp_path / 'in')
    output = tmp_path / 'out'
    assert run(tmp_path, checkpoint, '-i', source, '-o', output, '--recursive') == 0
    done = output / 'one' / 'two' / 'b_out.png'
    done.unlink()
    before = {name: (output / name).stat().st_mtime_ns for name in files_under(output)}
    capsys.readouterr()
    assert run(tmp_path, checkpoint, '-i', source, '-o', output, '--recursive', '--skip_existing') == 0
    out = capsys.readouterr().out
    assert '1 of 5 image(s) upscaled' in out and '4 image(s) skipped: their output exists' in out
    assert done.is_file()
    assert {name: (output / name).stat().st_mtime_ns for name in before} == before  # nothing written twice


def test_skip_existing_redoes_empty_and_cut_short_outputs_and_says_so(tmp_path, checkpoint, capsys):
    source = make_tree(tmp_path / 'in')
    output = tmp_path / 'out'
    assert run(tmp_path, checkpoint, '-i', source, '-o', output, '--recursive') == 0
    whole = {name: (output / name).read_bytes() for name in files_under(output)}
    empty, png_cut, jpg_cut = output / 'top_out.png', output / 'one/two/b_out.png', output / 'one/a_out.jpg'
    empty.write_bytes(b'')
    png_cut.write_bytes(whole['one/two/b_out.png'][:-12])  # everything but the closing IEND chunk
    jpg_cut.write_bytes(whole['one/a_out.jpg'][: len(whole['one/a_out.jpg']) // 2])
    capsys.readouterr()
    assert run(tmp_path, checkpoint, '-i', source, '-o', output, '--recursive', '--skip_existing') == 0
    out = capsys.readouterr().out
    assert '3 of 5 image(s) upscaled' in out and '2 image(s) skipped: their output exists' in out
    assert f'Redoing {empty}: the existing file is empty' in out
    assert f'Redoing {png_cut}: the existing file is cut short' in out
    assert f'Redoing {jpg_cut}: the existing file is cut short' in out
    assert {name: (output / name).read_bytes() for name in files_under(output)} == whole


def test_without_skip_existing_outputs_are_replaced(tmp_path, checkpoint):
    source = tmp_path / 'a.png'
    cv2.imwrite(str(source), image(0))
    (tmp_path / 'out').mkdir()
    (tmp_path / 'out' / 'a_out.png').write_bytes(b'old')
    assert run(tmp_path, checkpoint, '-i', source, '-o', tmp_path / 'out') == 0
    assert cv2.imread(str(tmp_path / 'out' / 'a_out.png')).shape == (24, 32, 3)


def test_names_from_different_folders_do_not_clash(tmp_path, checkpoint):
    source = make_tree(tmp_path / 'in', ('x/a.png', 'y/a.jpg'))
    assert run(tmp_path, checkpoint, '-i', source, '-o', tmp_path / 'out', '--recursive', '--ext', 'png') == 0
    assert files_under(tmp_path / 'out') == ['x/a_out.png', 'y/a_out.png']


def test_two_inputs_for_one_output_in_a_sub_folder_are_refused_naming_both(tmp_path, checkpoint, capsys):
    source = make_tree(tmp_path / 'in', ('x/a.png', 'x/a.webp'))
    assert run(tmp_path, checkpoint, '-i', source, '-o', tmp_path / 'out', '--recursive', '--ext', 'png') == 2
    err = capsys.readouterr().err
    assert 'a.png' in err and 'a.webp' in err and 'would both be written' in err
    assert not (tmp_path / 'out' / 'x').exists()


def test_an_alpha_image_that_would_become_png_beside_a_png_is_refused_before_any_work(tmp_path, checkpoint, capsys):
    """a.webp has alpha, so --ext auto names its output a_out.png as the original does: taken by a.png's."""
    folder = tmp_path / 'in'
    folder.mkdir()
    cv2.imwrite(str(folder / 'a.png'), image(0))
    cv2.imwrite(str(folder / 'a.webp'), image(1, 4))
    assert run(tmp_path, checkpoint, '-i', folder, '-o', tmp_path / 'out') == 2
    assert 'would both be written' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()
    (folder / 'a.png').unlink()
    assert run(tmp_path, checkpoint, '-i', folder, '-o', tmp_path / 'out') == 0
    assert cv2.imread(str(tmp_path / 'out' / 'a_out.png'), cv2.IMREAD_UNCHANGED).shape == (24, 32, 4)


def test_the_header_tells_alpha_as_opencv_decodes_it(tmp_path):
    rgb, alpha = image(0), image(1, 1)[:, :, 0]
    cases = {
        'rgba.png': Image.fromarray(np.dstack([rgb, alpha])),
        'la.png': Image.fromarray(alpha).convert('LA'),
        'rgb.png': Image.fromarray(rgb),
        'rgba.webp': Image.fromarray(np.dstack([rgb, alpha])),
        'rgb.webp': Image.fromarray(rgb),
        'rgba.tif': Image.fromarray(np.dstack([rgb, alpha])),
        'la.tif': Image.fromarray(alpha).convert('LA'),
        'gray.jpg': Image.fromarray(alpha),
    }
    for name, picture in cases.items():
        picture.save(tmp_path / name)
    palette = Image.fromarray(rgb).convert('P')
    palette.save(tmp_path / 'palette_transparent.png', transparency=0)
    Image.fromarray(rgb).save(tmp_path / 'rgb_transparent.png', transparency=(1, 2, 3))
    Image.fromarray(alpha).save(tmp_path / 'gray_transparent.png', transparency=5)
    (tmp_path / 'broken.png').write_bytes(b'not an image')
    for path in sorted(tmp_path.iterdir()):
        decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        opencv_alpha = decoded is not None and decoded.ndim == 3 and decoded.shape[2] == 4
        assert decodes_with_alpha(str(path)) == opencv_alpha, path.name


def test_a_wrong_guess_from_the_header_is_corrected_from_the_pixels(tmp_path, checkpoint, monkeypatch):
    """Should the header mislead, the decoded image decides the name (alpha makes PNG), as the original."""
    folder = tmp_path / 'in'
    folder.mkdir()
    cv2.imwrite(str(folder / 'a.webp'), image(1, 4))
    monkeypatch.setattr('realesrgan.batch.plan.decodes_with_alpha', lambda path: False)
    assert plan_batch(str(folder), str(tmp_path / 'out'), 'out', 'auto').items[0].output.endswith('a_out.webp')
    assert run(tmp_path, checkpoint, '-i', folder, '-o', tmp_path / 'out') == 0
    assert files_under(tmp_path / 'out') == ['a_out.png']


def test_an_empty_tree_says_so(tmp_path, checkpoint, capsys):
    (tmp_path / 'in' / 'sub').mkdir(parents=True)
    assert run(tmp_path, checkpoint, '-i', tmp_path / 'in', '-o', tmp_path / 'out', '--recursive') == 2
    assert 'or its sub-folders holds no files' in capsys.readouterr().err
