"""Pairing outputs with GT images by name, measuring folders, the tables and files, and the comparison picture."""

import json
import math

import cv2
import numpy as np
import pytest
from helpers import distorted

from realesrgan.evaluation.comparison import CAPTION_HEIGHT, GAP, TITLE_HEIGHT, ComparisonRow, comparison_picture
from realesrgan.evaluation.pairs import image_key, match_images, read_for_metrics
from realesrgan.evaluation.report import markdown_report, results_csv, results_json, table_rows, text_table
from realesrgan.evaluation.scores import evaluate_pairs
from realesrgan.metrics import get_metric, psnr, ssim


def test_image_key_follows_the_suffix_rule():
    assert image_key('baby_out.png', 'out') == 'baby'
    assert image_key('baby.png', 'out') == 'baby'  # outputs without the suffix match by plain name
    assert image_key('my_photo_x4.jpg', 'x4') == 'my_photo'
    assert image_key('_out.png', 'out') == '_out'
    assert image_key('baby_out.png', '') == 'baby_out'


def test_match_images_pairs_by_name_and_says_why_others_are_left(tmp_path, samples):
    sr, gt = tmp_path / 'sr', tmp_path / 'gt'
    sr.mkdir(), gt.mkdir()
    for name in ('a_out.png', 'b_out.jpg', 'c_out.png', 'c.png', 'notes.txt'):
        (sr / name).write_bytes(b'x')
    for name in ('a.png', 'b.png', 'c.jpg', 'd.png'):
        (gt / name).write_bytes(b'x')
    matching = match_images(str(sr), str(gt), 'out')
    assert [(pair.key, pair.image.split('/')[-1], pair.gt.split('/')[-1]) for pair in matching.pairs] == [
        ('a', 'a_out.png', 'a.png'),
        ('b', 'b_out.jpg', 'b.png'),
        ('c', 'c.png', 'c.jpg'),
    ]
    reasons = {path.split('/')[-1]: reason for path, reason in matching.unmatched}
    assert 'same name as' in reasons['c_out.png']
    assert reasons['d.png'].startswith('no image named d_out.*')
    alone = match_images(str(sr), None, 'out')
    assert [pair.gt for pair in alone.pairs] == [None] * 3


def test_read_for_metrics_drops_alpha_and_scales_16_bit(tmp_path, samples):
    bgra = cv2.cvtColor(samples['astronaut'], cv2.COLOR_BGR2BGRA)
    cv2.imwrite(str(tmp_path / 'a.png'), bgra)
    cv2.imwrite(str(tmp_path / 'b.png'), samples['astronaut'].astype(np.uint16) * 257)
    np.testing.assert_array_equal(read_for_metrics(str(tmp_path / 'a.png')), samples['astronaut'])
    np.testing.assert_allclose(read_for_metrics(str(tmp_path / 'b.png')), samples['astronaut'], atol=1e-9)


def write_pairs(folder, samples, suffix='out'):
    """GT images and blurred outputs named by the suffix rule; returns them by key."""
    (folder / 'gt').mkdir(parents=True), (folder / 'sr').mkdir()
    pairs = {}
    for key in ('astronaut', 'chelsea', 'camera'):
        gt, out = samples[key], distorted(samples[key], 'blur')
        cv2.imwrite(str(folder / 'gt' / f'{key}.png'), gt)
        cv2.imwrite(str(folder / 'sr' / f'{key}_{suffix}.png'), out)
        pairs[key] = (out, gt)
    return pairs


def test_evaluate_pairs_measures_each_pair_and_goes_on_after_bad_ones(tmp_path, samples):
    pairs = write_pairs(tmp_path, samples)
    cv2.imwrite(str(tmp_path / 'sr' / 'coffee_out.png'), samples['coffee'][:40])
    cv2.imwrite(str(tmp_path / 'gt' / 'coffee.png'), samples['coffee'])
    (tmp_path / 'sr' / 'broken_out.png').write_bytes(b'garbage')
    (tmp_path / 'gt' / 'broken.png').write_bytes(b'garbage')
    matching = match_images(str(tmp_path / 'sr'), str(tmp_path / 'gt'), 'out')
    metrics = [get_metric('psnr', crop_border=4), get_metric('ssim', y_channel=True), get_metric('niqe')]
    evaluation = evaluate_pairs(matching.pairs, metrics, progress=False)
    assert sorted(evaluation.images) == ['astronaut', 'camera', 'chelsea']
    for key, (out, gt) in pairs.items():
        assert evaluation.images[key]['psnr'] == pytest.approx(psnr(gt, out, crop_border=4), abs=1e-9)
        assert evaluation.images[key]['ssim'] == pytest.approx(ssim(gt, out, y_channel=gt.ndim == 3), abs=1e-9)
    reasons = dict(evaluation.failures)
    assert 'differs from the GT' in reasons['coffee'] and 'Cannot decode' in reasons['broken']
    assert len([key for key, reason in evaluation.failures if 'niqe: NIQE needs' in reason]) == 3
    assert evaluation.mean['psnr'] == pytest.approx(np.mean([evaluation.images[k]['psnr'] for k in pairs]))
    assert 'niqe' not in evaluation.mean


def test_tables_csv_and_json(tmp_path, samples):
    write_pairs(tmp_path, samples)
    matching = match_images(str(tmp_path / 'sr'), str(tmp_path / 'gt'), 'out')
    evaluation = evaluate_pairs(matching.pairs, [get_metric('psnr'), get_metric('ssim')], progress=False)
    single = json.loads(results_json({'sr': evaluation}, single=True))
    assert single['images'] == evaluation.images and single['mean'] == evaluation.mean
    several = json.loads(results_json({'a': evaluation, 'b': evaluation}, single=False))
    assert several['methods']['b']['mean']['ssim'] == evaluation.mean['ssim']
    lines = results_csv({'sr': evaluation}).splitlines()
    assert lines[0] == 'image,psnr,ssim' and lines[-1].startswith('mean,')
    assert float(lines[1].split(',')[1]) == evaluation.images['astronaut']['psnr']
    header, rows = table_rows({'sr': evaluation})
    text = text_table(header, rows)
    assert text.splitlines()[0].split() == ['image', 'psnr', 'ssim']
    assert f'{evaluation.mean["psnr"]:.4f}' in text.splitlines()[-1]
    report = markdown_report({'sr': evaluation}, 'settings line', str(tmp_path / 'p.png'), str(tmp_path / 'r.md'))
    assert '| image | psnr | ssim |' in report and '![comparison](p.png)' in report
    evaluation.images['astronaut']['psnr'] = math.inf
    assert table_rows({'sr': evaluation})[1][-1][1] == 'inf'


def test_comparison_picture_shows_the_same_centre_crop_of_each_image(samples):
    gt = samples['astronaut']
    blurred = distorted(gt, 'blur')
    picture = comparison_picture(
        [ComparisonRow('astronaut', [('bicubic', blurred), ('GT', gt)]), ComparisonRow('gray', [('GT', gt[..., 0])])],
        crop_size=32,
        cell_size=64,
    )
    assert picture.shape == (2 * (TITLE_HEIGHT + 64 + CAPTION_HEIGHT) + GAP, 2 * 64 + 3 * GAP, 3)
    first = picture[TITLE_HEIGHT : TITLE_HEIGHT + 64, GAP : GAP + 64]
    expected = cv2.resize(blurred[48:80, 48:80], (64, 64), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(first, expected)
    second = picture[TITLE_HEIGHT : TITLE_HEIGHT + 64, 2 * GAP + 64 : 2 * GAP + 128]
    np.testing.assert_array_equal(second, cv2.resize(gt[48:80, 48:80], (64, 64), interpolation=cv2.INTER_NEAREST))
    caption = picture[TITLE_HEIGHT + 64 : TITLE_HEIGHT + 64 + CAPTION_HEIGHT, GAP : GAP + 64]
    assert caption.max() == 255  # the label is drawn
    with pytest.raises(ValueError, match='at least one image'):
        comparison_picture([])
