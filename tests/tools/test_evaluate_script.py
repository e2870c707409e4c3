"""scripts/evaluate.py end to end (its table against direct metric calls, its files, the picture, bad input), and
scripts/make_val_pairs.py."""

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from helpers import INPUTS, REPO_ROOT
from test_data_scripts import load_script

from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.evaluation.pairs import read_for_metrics
from realesrgan.fileio.images import read_image
from realesrgan.metrics import niqe, psnr, ssim
from realesrgan.training.option_checks import load_options_file
from realesrgan.training.validation_pairs import make_validation_pairs


def table(text: str) -> dict:
    """The printed per-image table: (method, image) or image -> the numbers of its row."""
    rows = {}
    lines = text.splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.split()[:1] in (['method'], ['image'])) :]
    header = lines[0].split()
    for line in lines[2:]:
        if not line.strip():
            break
        cells = line.split()
        lead = len(header) - len([name for name in header if name not in ('method', 'image')])
        key = tuple(cells[:lead]) if lead > 1 else cells[0]
        rows[key] = dict(zip(header[lead:], cells[lead:]))
    return rows


def blurred_outputs(tmp_path: Path) -> Path:
    """GT images from inputs/ and their blurred copies named <name>_out.png."""
    (tmp_path / 'gt').mkdir(), (tmp_path / 'sr').mkdir()
    for name in ('astronaut.png', 'chelsea.jpg', 'camera_gray.png'):
        img = cv2.imread(str(INPUTS / name), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(tmp_path / 'gt' / name), img)
        cv2.imwrite(str(tmp_path / 'sr' / f'{Path(name).stem}_out.png'), cv2.GaussianBlur(img, (5, 5), 1.5))
    return tmp_path


def test_measures_outputs_against_gt_as_direct_calls_do(tmp_path, capsys):
    folder = blurred_outputs(tmp_path)
    args = ['--sr', str(folder / 'sr'), '--gt', str(folder / 'gt'), '--crop_border', '4', '--y_channel']
    code = load_script('evaluate').main(args + ['--json', str(tmp_path / 'v.json'), '--csv', str(tmp_path / 'v.csv')])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = table(out)
    values = json.loads((tmp_path / 'v.json').read_text())
    for stem in ('astronaut', 'chelsea', 'camera_gray'):
        gt_name = next(path for path in (folder / 'gt').iterdir() if path.stem == stem)
        gt, sr = read_image(str(gt_name)), read_image(str(folder / 'sr' / f'{stem}_out.png'))
        expected = {
            'psnr': psnr(gt, sr, crop_border=4, y_channel=True),
            'ssim': ssim(gt, sr, crop_border=4, y_channel=True),
        }
        for metric, value in expected.items():
            assert float(rows[stem][metric]) == pytest.approx(value, abs=1e-4)
            assert values['images'][stem][metric] == pytest.approx(value, abs=1e-12)
    assert values['mean']['psnr'] == pytest.approx(np.mean([v['psnr'] for v in values['images'].values()]))
    assert float(rows['mean']['ssim']) == pytest.approx(values['mean']['ssim'], abs=1e-4)
    assert (tmp_path / 'v.csv').read_text().splitlines()[0] == 'image,psnr,ssim'


def test_bad_input_is_one_line_and_the_rest_goes_on(tmp_path, capsys):
    folder = blurred_outputs(tmp_path)
    main = load_script('evaluate').main
    assert main(['--sr', str(tmp_path / 'missing'), '--gt', str(folder / 'gt')]) == 2
    assert 'is not a folder' in capsys.readouterr().err
    assert main(['--sr', str(folder / 'sr'), '--gt', str(folder / 'gt'), '--metrics', 'psnrr']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'the metrics are psnr, ssim, niqe, lpips' in err
    assert main(['--sr', str(folder / 'sr'), '--metrics', 'psnr']) == 2
    assert 'give them with --gt' in capsys.readouterr().err
    (folder / 'sr' / 'chelsea_out.png').write_bytes(b'broken')
    cv2.imwrite(str(folder / 'sr' / 'extra_out.png'), np.zeros((8, 8, 3), np.uint8))
    assert main(['--sr', str(folder / 'sr'), '--gt', str(folder / 'gt'), '--metrics', 'psnr', 'niqe']) == 1
    out = capsys.readouterr().out
    assert 'chelsea: Cannot decode image file' in out and 'no GT image named extra.*' in out
    assert 'astronaut: niqe: NIQE needs at least 2 blocks' in out
    assert re.search(r'^astronaut\s+\d+\.\d{4}\s+-$', out, re.M)


def test_a_nan_pixel_is_reported_and_the_exit_status_says_so(tmp_path, capsys):
    (tmp_path / 'gt').mkdir(), (tmp_path / 'sr').mkdir()
    gt = cv2.imread(str(INPUTS / 'astronaut.png'))
    cv2.imwrite(str(tmp_path / 'gt' / 'astronaut.png'), gt)
    sr = gt.astype(np.float32)
    sr[10, 10, 1] = np.nan
    assert cv2.imwrite(str(tmp_path / 'sr' / 'astronaut_out.tif'), sr)
    assert load_script('evaluate').main(['--sr', str(tmp_path / 'sr'), '--gt', str(tmp_path / 'gt')]) == 1
    out = capsys.readouterr().out
    assert 'astronaut: psnr is NaN: ' in out and 'holds NaN pixel values' in out


def test_a_csv_that_cannot_be_written_is_refused_before_the_work(tmp_path, capsys):
    folder = blurred_outputs(tmp_path)
    main = load_script('evaluate').main
    assert main(['--sr', str(folder / 'sr'), '--gt', str(folder / 'gt'), '--csv', '/sys/values.csv']) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith('error: --csv: cannot write /sys/values.csv') and printed.err.count('\n') == 1
    assert 'astronaut' not in printed.out  # nothing was measured


def tiny_checkpoint(path: Path) -> Path:
    torch.manual_seed(0)
    net = SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=4, act_type='prelu')
    torch.save({'params': net.state_dict()}, path)
    return path


def test_upscales_lq_with_bicubic_and_models_then_writes_table_picture_and_report(tmp_path, capsys):
    pairs = tmp_path / 'pairs'
    opt = load_options_file(str(REPO_ROOT / 'options' / 'demo_realesrnet_x4plus.yml'))
    summary = make_validation_pairs(opt, str(INPUTS), str(pairs), seed=0, progress=False)
    assert sorted(summary.written) == ['astronaut', 'camera_gray', 'chelsea', 'coffee_rgba']
    checkpoint = tiny_checkpoint(tmp_path / 'tiny.pth')
    output = tmp_path / 'eval'
    args = ['--lq', str(pairs / 'lq'), '--gt', str(pairs / 'gt'), '-n', str(checkpoint), '-o', str(output)]
    assert load_script('evaluate').main(args + ['--json', str(tmp_path / 'v.json')]) == 0
    out = capsys.readouterr().out
    rows = table(out)
    values = json.loads((tmp_path / 'v.json').read_text())['methods']
    assert list(values) == ['bicubic', 'tiny']
    for method in values:
        for key in summary.written:
            sr = read_for_metrics(str(output / method / f'{key}_out.png'))
            gt = read_for_metrics(str(pairs / 'gt' / f'{key}.png'))
            assert float(rows[(method, key)]['psnr']) == pytest.approx(psnr(gt, sr, 255.0), abs=1e-4)
            assert values[method]['images'][key]['ssim'] == pytest.approx(ssim(gt, sr, 255.0), abs=1e-12)
    picture = cv2.imread(str(output / 'comparison.png'))
    assert picture is not None and picture.shape[1] == 3 * 192 + 4 * 4  # bicubic, tiny, GT
    report = (output / 'report.md').read_text()
    assert '![comparison](comparison.png)' in report and '| bicubic | mean |' in report


@pytest.mark.weights
@pytest.mark.slow
def test_official_models_on_the_degraded_inputs(tmp_path, capsys):
    """The run README's table comes from: inputs/ degraded by the demo config, x4plus, animevideov3 and bicubic."""
    from helpers import official_weights

    for name in ('RealESRGAN_x4plus', 'realesr-animevideov3'):
        official_weights(name)
    pairs = tmp_path / 'pairs'
    opt = load_options_file(str(REPO_ROOT / 'options' / 'demo_realesrnet_x4plus.yml'))
    make_validation_pairs(opt, str(INPUTS), str(pairs), seed=0, progress=False)
    output = tmp_path / 'eval'
    args = ['--lq', str(pairs / 'lq'), '--gt', str(pairs / 'gt'), '-o', str(output), '--weights_dir']
    args += [str(REPO_ROOT / 'weights'), '-n', 'RealESRGAN_x4plus', 'realesr-animevideov3', '--fp32']
    assert load_script('evaluate').main(args) == 0
    rows = table(capsys.readouterr().out)
    for method in ('bicubic', 'RealESRGAN_x4plus', 'realesr-animevideov3'):
        sr = read_for_metrics(str(output / method / 'astronaut_out.png'))
        gt = read_for_metrics(str(pairs / 'gt' / 'astronaut.png'))
        assert float(rows[(method, 'astronaut')]['psnr']) == pytest.approx(psnr(gt, sr, 255.0), abs=1e-4)
    assert cv2.imread(str(output / 'comparison.png')).shape[1] == 4 * 192 + 5 * 4
    # without GT: no-reference NIQE of the 4x outputs of the inputs themselves (large enough for its blocks)
    args = ['--lq', str(INPUTS), '-n', 'realesr-animevideov3', '-o', str(tmp_path / 'nr'), '--weights_dir']
    assert load_script('evaluate').main(args + [str(REPO_ROOT / 'weights')]) == 0
    rows = table(capsys.readouterr().out)
    sr = read_for_metrics(str(tmp_path / 'nr' / 'realesr-animevideov3' / 'astronaut_out.png'))
    assert float(rows[('realesr-animevideov3', 'astronaut')]['niqe']) == pytest.approx(niqe(sr, 255.0), abs=1e-4)


def test_make_val_pairs_script(tmp_path, capsys):
    main = load_script('make_val_pairs').main
    options = str(REPO_ROOT / 'options' / 'demo_realesrnet_x4plus.yml')
    assert main(['-opt', options, '--gt', str(INPUTS), '--output', str(tmp_path / 'pairs')]) == 0
    out = capsys.readouterr().out
    assert '4 pair(s) written' in out and f'dataroot_lq: {tmp_path / "pairs"}/lq' in out
    assert main(['-opt', str(tmp_path / 'missing.yml'), '--gt', str(INPUTS), '--output', str(tmp_path / 'x')]) == 2
    assert 'does not exist' in capsys.readouterr().err


def test_help_and_setup_errors(tmp_path, capsys):
    main = load_script('evaluate').main
    with pytest.raises(SystemExit) as stop:
        main(['--help'])
    text = capsys.readouterr().out
    assert stop.value.code == 0
    for flag in ('--sr', '--lq', '--gt', '--metrics', '--crop_border', '--y_channel', '--csv', '--json', '--picture'):
        assert flag in text
    (tmp_path / 'lq').mkdir()
    cv2.imwrite(str(tmp_path / 'lq' / 'a.png'), np.zeros((16, 16, 3), np.uint8))
    assert main(['--lq', str(tmp_path / 'lq'), '-n', 'RealESRGAN_x4plux', '-o', str(tmp_path / 'o')]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'RealESRGAN_x4plus' in err
    assert main(['--lq', str(tmp_path / 'lq'), '--sr', str(tmp_path / 'lq')]) == 2
    assert 'either --sr' in capsys.readouterr().err
