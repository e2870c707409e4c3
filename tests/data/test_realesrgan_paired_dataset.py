"""RealESRGANPairedDataset: folder, meta_info and LMDB backends, paired crops on real pixels, errors with names."""

import random
import shutil
from pathlib import Path
from typing import Dict

import cv2
import numpy as np
import pytest
import torch
from basicsr.utils.lmdb_util import make_lmdb_from_imgs
from basicsr.utils.registry import DATASET_REGISTRY

from realesrgan.data.realesrgan_paired_dataset import RealESRGANPairedDataset

SCALE = 4
LQ_SIZES = {'0001': (16, 20), '0002': (12, 12), '0003': (20, 14)}  # (h, w) of the LQ images


def nearest_upscale(img: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """Each LQ pixel becomes a scale x scale block: any aligned GT/LQ crop, flip or rotation keeps this relation."""
    return np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)


@pytest.fixture(scope='module')
def pair_root(tmp_path_factory) -> Path:
    """``gt/``, ``lq/`` (same names), ``lq_x4/`` (``{}x4`` names), a pair meta_info file and two LMDBs."""
    root = tmp_path_factory.mktemp('pairs')
    for folder in ('gt', 'lq', 'lq_x4'):
        (root / folder).mkdir()
    for seed, (name, (h, w)) in enumerate(LQ_SIZES.items()):
        lq = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
        cv2.imwrite(str(root / 'lq' / f'{name}.png'), lq)
        cv2.imwrite(str(root / 'lq_x4' / f'{name}x4.png'), lq)
        cv2.imwrite(str(root / 'gt' / f'{name}.png'), nearest_upscale(lq))
    (root / 'meta_info_pair.txt').write_text(''.join(f'gt/{name}.png, lq/{name}.png\n' for name in LQ_SIZES))
    for folder in ('gt', 'lq'):
        make_lmdb_from_imgs(
            str(root / folder),
            str(root / f'{folder}.lmdb'),
            [f'{n}.png' for n in LQ_SIZES],
            list(LQ_SIZES),
            map_size=1 << 24,
        )
    return root


def make_opt(root: Path, gt='gt', lq='lq', **overrides) -> Dict:
    """Training options as in finetune_realesrgan_x4plus_pairdata, with a small gt_size."""
    opt = {
        'name': 'pairs',
        'type': 'RealESRGANPairedDataset',
        'phase': 'train',
        'dataroot_gt': str(root / gt),
        'dataroot_lq': str(root / lq),
        'io_backend': {'type': 'disk'},
        'gt_size': 32,
        'scale': SCALE,
        'use_hflip': True,
        'use_rot': True,
    }
    opt.update(overrides)
    return opt


def to_bgr_uint8(img: torch.Tensor) -> np.ndarray:
    """3xHxW RGB float tensor in [0, 1] back to HxWx3 BGR uint8."""
    return np.round(img.numpy().transpose(1, 2, 0)[:, :, ::-1] * 255).astype(np.uint8)


def occurrences(source: np.ndarray, patch: np.ndarray) -> int:
    """How many windows of ``source`` equal ``patch`` under one of the 8 flips/rotations."""
    variants = [patch, patch[:, ::-1], patch[::-1], patch[::-1, ::-1]]
    variants += [v.transpose(1, 0, 2) for v in variants]
    count = 0
    for variant in variants:
        ph, pw = variant.shape[:2]
        for top in range(source.shape[0] - ph + 1):
            for left in range(source.shape[1] - pw + 1):
                count += np.array_equal(source[top : top + ph, left : left + pw], variant)
    return count


def test_registered():
    assert DATASET_REGISTRY.get('RealESRGANPairedDataset') is RealESRGANPairedDataset


def test_folder_backend_gives_aligned_crops_of_the_sources(pair_root):
    dataset = RealESRGANPairedDataset(make_opt(pair_root))
    assert len(dataset) == 3
    random.seed(0)
    for index, name in enumerate(LQ_SIZES):
        item = dataset[index]
        assert item['gt_path'] == str(pair_root / 'gt' / f'{name}.png')
        assert item['lq_path'] == str(pair_root / 'lq' / f'{name}.png')
        assert item['gt'].shape == (3, 32, 32) and item['lq'].shape == (3, 8, 8)
        gt, lq = to_bgr_uint8(item['gt']), to_bgr_uint8(item['lq'])
        np.testing.assert_array_equal(gt, nearest_upscale(lq))  # same place, same flip/rotation
        source = cv2.imread(str(pair_root / 'lq' / f'{name}.png'))
        assert occurrences(source, lq) >= 1


def test_flips_rotations_happen_and_are_exact(pair_root):
    dataset = RealESRGANPairedDataset(make_opt(pair_root, gt_size=48))  # 0002: LQ 12x12 = patch, no crop freedom
    source = cv2.imread(str(pair_root / 'lq' / '0002.png'))
    variants = {'id': source, 'h': source[:, ::-1], 'v': source[::-1], 'hv': source[::-1, ::-1]}
    variants.update({f'{k}T': v.transpose(1, 0, 2) for k, v in list(variants.items())})
    random.seed(1)
    seen = set()
    for _ in range(40):
        lq = to_bgr_uint8(dataset[1]['lq'])
        seen.add(next(k for k, v in variants.items() if np.array_equal(v, lq)))
    assert len(seen) >= 6
    no_aug = RealESRGANPairedDataset(make_opt(pair_root, gt_size=48, use_hflip=False, use_rot=False))
    np.testing.assert_array_equal(to_bgr_uint8(no_aug[1]['lq']), source)


def test_meta_info_lmdb_and_folder_give_the_same_pixels(pair_root):
    folder = RealESRGANPairedDataset(make_opt(pair_root))
    meta = RealESRGANPairedDataset(make_opt(pair_root, gt='', lq='', meta_info=str(pair_root / 'meta_info_pair.txt')))
    lmdb = RealESRGANPairedDataset(make_opt(pair_root, gt='gt.lmdb', lq='lq.lmdb', io_backend={'type': 'lmdb'}))
    assert lmdb.io_backend_opt['client_keys'] == ['lq', 'gt']
    assert meta.paths[1] == {'gt_path': str(pair_root / 'gt/0002.png'), 'lq_path': str(pair_root / 'lq/0002.png')}
    for index in range(3):
        items = []
        for dataset in (folder, meta, lmdb):
            random.seed(index)
            items.append(dataset[index])
        assert items[2]['gt_path'] == items[2]['lq_path'] == list(LQ_SIZES)[index]
        for item in items[1:]:
            assert torch.equal(item['gt'], items[0]['gt']) and torch.equal(item['lq'], items[0]['lq'])


def test_filename_template(pair_root):
    dataset = RealESRGANPairedDataset(make_opt(pair_root, lq='lq_x4', filename_tmpl='{}x4'))
    assert [Path(p['lq_path']).name for p in dataset.paths] == ['0001x4.png', '0002x4.png', '0003x4.png']
    item = dataset[2]
    np.testing.assert_array_equal(to_bgr_uint8(item['gt']), nearest_upscale(to_bgr_uint8(item['lq'])))


def test_validation_phase_trims_gt_to_scale_times_lq(tmp_path):
    lq = np.random.default_rng(5).integers(0, 256, (10, 9, 3), dtype=np.uint8)
    gt = np.random.default_rng(6).integers(0, 256, (43, 38, 3), dtype=np.uint8)  # 3 rows, 2 columns too many
    for folder, img in (('gt', gt), ('lq', lq)):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / 'val.png'), img)
    item = RealESRGANPairedDataset(make_opt(tmp_path, phase='val'))[0]
    np.testing.assert_array_equal(to_bgr_uint8(item['gt']), gt[:40, :36])
    np.testing.assert_array_equal(to_bgr_uint8(item['lq']), lq)


def test_mean_std_normalisation(pair_root):
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.5]
    plain = RealESRGANPairedDataset(make_opt(pair_root, use_hflip=False, use_rot=False))
    normed = RealESRGANPairedDataset(make_opt(pair_root, use_hflip=False, use_rot=False, mean=mean, std=std))
    random.seed(2)
    a = plain[0]
    random.seed(2)
    b = normed[0]
    for key in ('gt', 'lq'):
        expected = (a[key] - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
        torch.testing.assert_close(b[key], expected)
    only_mean = RealESRGANPairedDataset(make_opt(pair_root, use_hflip=False, use_rot=False, mean=mean))
    random.seed(2)
    torch.testing.assert_close(only_mean[0]['lq'], a['lq'] - torch.tensor(mean).view(3, 1, 1))


# ----------------------------------------------------------------------------------------------- bad input


def test_missing_folders(pair_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='dataroot_lq folder .*missing.* does not exist'):
        RealESRGANPairedDataset(make_opt(pair_root, lq='missing'))
    with pytest.raises(FileNotFoundError, match='dataroot_gt folder'):
        RealESRGANPairedDataset(make_opt(tmp_path, gt='nothing', lq='nothing'))


def test_lmdb_backend_needs_lmdb_folders(pair_root):
    with pytest.raises(ValueError, match=r'dataroot_lq must be an LMDB folder .*"\.lmdb".*lq"'):
        RealESRGANPairedDataset(make_opt(pair_root, gt='gt.lmdb', lq='lq', io_backend={'type': 'lmdb'}))


def test_lmdb_keys_must_match(pair_root, tmp_path):
    other = tmp_path / 'other.lmdb'
    make_lmdb_from_imgs(str(pair_root / 'lq'), str(other), ['0001.png'], ['0001'], map_size=1 << 24)
    with pytest.raises(ValueError, match='must hold the same keys'):
        RealESRGANPairedDataset(make_opt(pair_root, gt='gt.lmdb', lq=str(other), io_backend={'type': 'lmdb'}))


def test_bad_meta_info(pair_root, tmp_path):
    empty = tmp_path / 'empty.txt'
    empty.write_text('')
    with pytest.raises(ValueError, match='is empty'):
        RealESRGANPairedDataset(make_opt(pair_root, gt='', lq='', meta_info=str(empty)))
    one_column = tmp_path / 'one_column.txt'
    one_column.write_text('gt/0001.png, lq/0001.png\ngt/0002.png\n')
    with pytest.raises(ValueError, match='Line 2 of meta_info file .* expected "gt_path, lq_path"'):
        RealESRGANPairedDataset(make_opt(pair_root, gt='', lq='', meta_info=str(one_column)))


def test_listed_pair_file_that_does_not_exist(pair_root, tmp_path):
    meta_info = tmp_path / 'meta.txt'
    meta_info.write_text('gt/0001.png, lq/0009.png\n')
    # found when the dataset is built, not when the loader reaches it
    with pytest.raises(
        FileNotFoundError,
        match=r'lists 1 of 1 files that do not exist under dataroot_lq, e\.g\. '
        r'".*lq/0009\.png"',
    ):
        RealESRGANPairedDataset(make_opt(pair_root, gt='', lq='', meta_info=str(meta_info)))
    # a file that disappears after that is named when the loader reaches it
    for folder in ('gt', 'lq'):
        (tmp_path / folder).mkdir()
        shutil.copyfile(pair_root / folder / '0001.png', tmp_path / folder / '0001.png')
    meta_info.write_text('gt/0001.png, lq/0001.png\n')
    dataset = RealESRGANPairedDataset(make_opt(tmp_path, gt='', lq='', meta_info=str(meta_info)))
    (tmp_path / 'lq' / '0001.png').unlink()
    with pytest.raises(FileNotFoundError, match=r'lq image ".*lq/0001\.png" does not exist'):
        dataset[0]


def test_folders_that_do_not_pair_up(pair_root, tmp_path):
    (tmp_path / 'lq').mkdir()
    cv2.imwrite(str(tmp_path / 'lq' / '0001.png'), np.zeros((16, 20, 3), np.uint8))
    with pytest.raises(ValueError, match='do not pair up'):
        RealESRGANPairedDataset(make_opt(pair_root, lq=str(tmp_path / 'lq')))


def test_unreadable_image(pair_root, tmp_path):
    (tmp_path / 'gt').mkdir()
    (tmp_path / 'gt' / 'x.png').write_bytes(b'')
    (tmp_path / 'lq').mkdir()
    (tmp_path / 'lq' / 'x.png').write_bytes((pair_root / 'lq' / '0001.png').read_bytes())
    with pytest.raises(ValueError, match=r'Cannot decode image ".*gt/x\.png" \(0 bytes\)'):
        RealESRGANPairedDataset(make_opt(tmp_path))[0]


def write_pair(root: Path, gt_shape, lq_shape) -> None:
    for folder, (h, w) in (('gt', gt_shape), ('lq', lq_shape)):
        (root / folder).mkdir()
        cv2.imwrite(str(root / folder / 'pair.png'), np.full((h, w, 3), 128, np.uint8))


def test_scale_mismatch_names_files_and_sizes(tmp_path):
    write_pair(tmp_path, (64, 60), (16, 16))
    dataset = RealESRGANPairedDataset(make_opt(tmp_path))
    pattern = (
        r'Scale mismatches: GT ".*gt/pair\.png" is 64x60 \(HxW\) but LQ ".*lq/pair\.png" is 16x16; '
        r'with scale 4 the GT must be 64x64'
    )
    with pytest.raises(ValueError, match=pattern):
        dataset[0]
    with pytest.raises(ValueError, match='Scale mismatches'):  # a GT too small to trim in validation too
        RealESRGANPairedDataset(make_opt(tmp_path, phase='val'))[0]


def test_lq_smaller_than_patch_names_files_and_sizes(tmp_path):
    write_pair(tmp_path, (24, 40), (6, 10))
    dataset = RealESRGANPairedDataset(make_opt(tmp_path, gt_size=32))
    pattern = (
        r'LQ smaller than patch size: LQ ".*lq/pair\.png" is 6x10 \(HxW\) but gt_size 32 / scale 4 needs at '
        r'least 8x8 \(GT ".*gt/pair\.png" is 24x40\)'
    )
    with pytest.raises(ValueError, match=pattern):
        dataset[0]


def test_same_numbers_as_basicsr_copy_of_the_original(pair_root):
    """BasicSR ships the original class as RealESRGANPairedDataset_basicsr: same seeds, identical items."""
    opt = make_opt(
        pair_root, gt='', lq='', meta_info=str(pair_root / 'meta_info_pair.txt'), mean=[0.5] * 3, std=[0.5] * 3
    )
    ours = RealESRGANPairedDataset(opt)
    original = DATASET_REGISTRY.get('RealESRGANPairedDataset_basicsr')(opt)
    for seed in range(6):
        items = []
        for dataset in (ours, original):
            random.seed(seed)
            items.append(dataset[seed % 3])
        assert items[0]['gt_path'] == items[1]['gt_path'] and items[0]['lq_path'] == items[1]['lq_path']
        assert torch.equal(items[0]['gt'], items[1]['gt']) and torch.equal(items[0]['lq'], items[1]['lq'])
