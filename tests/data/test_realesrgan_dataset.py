"""RealESRGANDataset: every backend, the pad/crop and flips on real pixels, the kernels and the error paths."""

import logging
import math
import random
import shutil
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np
import pytest
import torch
from basicsr.data import build_dataset
from basicsr.data.degradations import bivariate_Gaussian, circular_lowpass_kernel
from basicsr.utils.lmdb_util import make_lmdb_from_imgs
from basicsr.utils.registry import DATASET_REGISTRY
from torch.utils.data import DataLoader

from realesrgan.data import data_io
from realesrgan.data.realesrgan_dataset import RealESRGANDataset

IMAGE_SIZES = {'baboon': (40, 56), 'comic': (70, 90), 'lenna': (48, 48)}  # (h, w)


def noise_image(h: int, w: int, seed: int) -> np.ndarray:
    """Random BGR uint8 image: every patch is unique, so a crop can be located exactly."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope='module')
def gt_folder(tmp_path_factory) -> Path:
    """A dataset root with an ``hr`` folder of three noise PNGs and a meta_info file listing them."""
    root = tmp_path_factory.mktemp('gt_dataset')
    (root / 'hr').mkdir()
    for seed, (name, (h, w)) in enumerate(IMAGE_SIZES.items()):
        cv2.imwrite(str(root / 'hr' / f'{name}.png'), noise_image(h, w, seed))
    (root / 'meta_info.txt').write_text(''.join(f'hr/{name}.png\n' for name in IMAGE_SIZES))
    return root


@pytest.fixture(scope='module')
def gt_lmdb(gt_folder) -> Path:
    """The same images packed into an LMDB with BasicSR's helper."""
    lmdb_path = gt_folder / 'hr.lmdb'
    make_lmdb_from_imgs(
        str(gt_folder / 'hr'),
        str(lmdb_path),
        [f'{name}.png' for name in IMAGE_SIZES],
        list(IMAGE_SIZES),
        map_size=1 << 24,
    )
    return lmdb_path


def make_opt(dataroot, **overrides) -> Dict:
    """Options of the original training configs, with a small crop and without augmentation unless overridden."""
    opt = {
        'name': 'test',
        'type': 'RealESRGANDataset',
        'phase': 'train',
        'dataroot_gt': str(dataroot),
        'io_backend': {'type': 'disk'},
        'use_hflip': False,
        'use_rot': False,
        'crop_pad_size': 48,
        'blur_kernel_size': 21,
        'kernel_list': ['iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso'],
        'kernel_prob': [0.45, 0.25, 0.12, 0.03, 0.12, 0.03],
        'sinc_prob': 0.1,
        'blur_sigma': [0.2, 3],
        'betag_range': [0.5, 4],
        'betap_range': [1, 2],
        'blur_kernel_size2': 21,
        'kernel_list2': ['iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso'],
        'kernel_prob2': [0.45, 0.25, 0.12, 0.03, 0.12, 0.03],
        'sinc_prob2': 0.1,
        'blur_sigma2': [0.2, 1.5],
        'betag_range2': [0.5, 4],
        'betap_range2': [1, 2],
        'final_sinc_prob': 0.8,
    }
    opt.update(overrides)
    return opt


def to_bgr_uint8(gt: torch.Tensor) -> np.ndarray:
    """Dataset output (3xHxW RGB float in [0, 1]) back to an HxWx3 BGR uint8 image."""
    assert gt.dtype == torch.float32 and gt.min() >= 0 and gt.max() <= 1
    return np.round(gt.numpy().transpose(1, 2, 0)[:, :, ::-1] * 255).astype(np.uint8)


def crop_positions(source: np.ndarray, patch: np.ndarray) -> List[tuple]:
    """All (top, left) where ``patch`` equals a window of ``source``."""
    ph, pw = patch.shape[:2]
    return [
        (top, left)
        for top in range(source.shape[0] - ph + 1)
        for left in range(source.shape[1] - pw + 1)
        if np.array_equal(source[top : top + ph, left : left + pw], patch)
    ]


def reflect_pad(img: np.ndarray, size: int) -> np.ndarray:
    """Bottom/right reflection padding (reflect-101) to at least ``size`` a side."""
    pad_h, pad_w = max(0, size - img.shape[0]), max(0, size - img.shape[1])
    return np.pad(img, ((0, pad_h), (0, pad_w), (0, 0)), mode='reflect')


def test_registered_and_built_from_options(gt_folder):
    assert DATASET_REGISTRY.get('RealESRGANDataset') is RealESRGANDataset
    dataset = build_dataset(make_opt(gt_folder / 'hr'))
    assert isinstance(dataset, RealESRGANDataset)
    assert len(dataset) == 3
    # option attributes keep the names of the options, as the original exposes them
    assert dataset.kernel_list == make_opt('')['kernel_list'] and dataset.betag_range2 == [0.5, 4]
    assert dataset.blur_sigma2 == [0.2, 1.5] and dataset.final_sinc_prob == 0.8 and dataset.gt_folder.endswith('hr')
    assert dataset.kernel_range == [7, 9, 11, 13, 15, 17, 19, 21]
    assert dataset.io_backend_opt == {'type': 'disk'} and dataset.file_client is None
    assert dataset.pulse_tensor.shape == (21, 21) and dataset.pulse_tensor[10, 10] == 1


@pytest.mark.parametrize('name', list(IMAGE_SIZES))
def test_item_is_a_crop_of_the_padded_source(gt_folder, name):
    dataset = RealESRGANDataset(make_opt(gt_folder, meta_info=str(gt_folder / 'meta_info.txt')))
    index = list(IMAGE_SIZES).index(name)
    source = cv2.imread(str(gt_folder / 'hr' / f'{name}.png'))
    item = dataset[index]
    assert item['gt_path'] == str(gt_folder / 'hr' / f'{name}.png')
    assert item['gt'].shape == (3, 48, 48)
    patch = to_bgr_uint8(item['gt'])
    padded = reflect_pad(source, 48)
    positions = crop_positions(padded, patch)
    assert len(positions) == 1
    if source.shape[:2] == (48, 48):
        assert positions == [(0, 0)]


def test_small_image_is_reflect_padded_to_400(gt_folder):
    dataset = RealESRGANDataset(make_opt(gt_folder / 'hr', crop_pad_size=400))
    assert dataset.crop_pad_size == 400
    item = dataset[0]  # baboon, 40x56: padded, nothing to crop
    assert item['gt'].shape == (3, 400, 400)
    source = cv2.imread(str(gt_folder / 'hr' / 'baboon.png'))
    np.testing.assert_array_equal(to_bgr_uint8(item['gt']), reflect_pad(source, 400))


def test_a_one_pixel_image_is_refused_and_one_under_gt_size_warned_about_once(tmp_path, caplog):
    (tmp_path / 'hr').mkdir()
    cv2.imwrite(str(tmp_path / 'hr' / 'dot.png'), noise_image(1, 1, 0))
    with pytest.raises(ValueError, match=r'GT smaller than patch size: GT ".*dot.png" is 1x1 \(HxW\).*Remove this'):
        RealESRGANDataset(make_opt(tmp_path / 'hr'))[0]
    (tmp_path / 'hr' / 'dot.png').unlink()
    cv2.imwrite(str(tmp_path / 'hr' / 'small.png'), noise_image(20, 30, 0))
    dataset = RealESRGANDataset(make_opt(tmp_path / 'hr', gt_size=32))
    with caplog.at_level(logging.WARNING):
        assert dataset[0]['gt'].shape == (3, 48, 48) and dataset[0]['gt'].shape == (3, 48, 48)
    warnings = [record.getMessage() for record in caplog.records if 'smaller than gt_size 32' in record.getMessage()]
    assert len(warnings) == 1 and 'small.png" is 20x30 (HxW)' in warnings[0]


def test_flips_and_rotations_are_exact(gt_folder):
    source = cv2.imread(str(gt_folder / 'hr' / 'lenna.png'))  # 48x48 = crop size: only augmentation moves pixels
    dihedral = {'id': source, 'hflip': source[:, ::-1], 'vflip': source[::-1], 'rot180': source[::-1, ::-1]}
    dihedral.update({f'{k}+T': v.transpose(1, 0, 2) for k, v in list(dihedral.items())})
    seen = set()
    hflip_only = RealESRGANDataset(make_opt(gt_folder / 'hr', use_hflip=True))
    random.seed(3)
    for _ in range(12):
        patch = to_bgr_uint8(hflip_only[2]['gt'])
        seen.add(next(k for k, v in dihedral.items() if np.array_equal(v, patch)))
    assert seen == {'id', 'hflip'}
    with_rot = RealESRGANDataset(make_opt(gt_folder / 'hr', use_hflip=True, use_rot=True))
    seen.clear()
    for _ in range(40):
        patch = to_bgr_uint8(with_rot[2]['gt'])
        seen.add(next(k for k, v in dihedral.items() if np.array_equal(v, patch)))
    assert len(seen) >= 6  # 8 outcomes in all, drawn 40 times


def test_lmdb_and_disk_give_the_same_items(gt_folder, gt_lmdb):
    disk = RealESRGANDataset(make_opt(gt_folder, meta_info=str(gt_folder / 'meta_info.txt'), use_hflip=True))
    lmdb = RealESRGANDataset(make_opt(gt_lmdb, io_backend={'type': 'lmdb'}, use_hflip=True))
    assert lmdb.paths == ['baboon', 'comic', 'lenna']
    assert lmdb.io_backend_opt == {'type': 'lmdb', 'db_paths': [str(gt_lmdb)], 'client_keys': ['gt']}
    for index in range(3):
        random.seed(index)
        np.random.seed(index)
        from_disk = disk[index]
        random.seed(index)
        np.random.seed(index)
        from_lmdb = lmdb[index]
        assert from_lmdb['gt_path'] == list(IMAGE_SIZES)[index]
        for key in ('gt', 'kernel1', 'kernel2', 'sinc_kernel'):
            assert torch.equal(from_disk[key], from_lmdb[key]), key


def test_plain_folder_lists_only_images_sorted(gt_folder):
    dataset = RealESRGANDataset(make_opt(gt_folder / 'hr'))
    assert [Path(p).name for p in dataset.paths] == ['baboon.png', 'comic.png', 'lenna.png']


def test_kernels_are_normalised_21x21(gt_folder):
    dataset = RealESRGANDataset(make_opt(gt_folder / 'hr'))
    random.seed(0)
    np.random.seed(0)
    for _ in range(40):
        item = dataset[0]
        for key in ('kernel1', 'kernel2', 'sinc_kernel'):
            kernel = item[key]
            assert kernel.shape == (21, 21) and kernel.dtype == torch.float32
            assert kernel.sum().item() == pytest.approx(1.0, abs=1e-5)
            # symmetric under 180 degree rotation: centred, as filter2D expects
            torch.testing.assert_close(kernel, kernel.flip(0).flip(1), atol=1e-6, rtol=0)


class DrawRecorder:
    """Wraps ``random.choice`` and ``np.random.uniform`` to record what the dataset drew."""

    def __init__(self, monkeypatch):
        self.sizes, self.uniform_calls = [], []
        real_choice, real_uniform = random.choice, np.random.uniform

        def choice(seq):
            value = real_choice(seq)
            self.sizes.append(value)
            return value

        def uniform(*args, **kwargs):
            value = real_uniform(*args, **kwargs)
            self.uniform_calls.append((args, value))
            return value

        monkeypatch.setattr(random, 'choice', choice)
        monkeypatch.setattr(np.random, 'uniform', uniform)

    def cutoffs(self) -> List[tuple]:
        """(low bound, value) of each draw from a range (sinc cutoffs, Gaussian sigmas), in order."""
        return [(args[0], value) for args, value in self.uniform_calls if args]


def padded_to_21(kernel: np.ndarray) -> np.ndarray:
    pad = (21 - kernel.shape[0]) // 2
    return np.pad(kernel, pad)


def test_sinc_branches_match_circular_lowpass_kernel(gt_folder, monkeypatch):
    dataset = RealESRGANDataset(make_opt(gt_folder / 'hr', sinc_prob=1, sinc_prob2=1, final_sinc_prob=1))
    np.random.seed(7)
    random.seed(7)
    for _ in range(20):
        recorder = DrawRecorder(monkeypatch)
        item = dataset[2]
        size1, size2, size_final = recorder.sizes
        (low1, omega1), (low2, omega2), (low_final, omega_final) = recorder.cutoffs()
        assert low1 == pytest.approx(math.pi / 3 if size1 < 13 else math.pi / 5)
        assert low2 == pytest.approx(math.pi / 3 if size2 < 13 else math.pi / 5)
        assert low_final == pytest.approx(math.pi / 3)
        expected = {
            'kernel1': padded_to_21(circular_lowpass_kernel(omega1, size1)),
            'kernel2': padded_to_21(circular_lowpass_kernel(omega2, size2)),
            'sinc_kernel': circular_lowpass_kernel(omega_final, size_final, pad_to=21),
        }
        for key, kernel in expected.items():
            np.testing.assert_allclose(item[key].numpy(), kernel, atol=1e-7, rtol=0, err_msg=key)
            assert (item[key] < 0).any()  # the sinc kernels' negative side lobes
        monkeypatch.undo()


def test_no_sinc_gives_mixed_kernels_and_the_pulse(gt_folder, monkeypatch):
    # with a single kernel type the "random mixed kernel" branch is known from its size and drawn sigma
    dataset = RealESRGANDataset(
        make_opt(
            gt_folder / 'hr',
            sinc_prob=0,
            sinc_prob2=0,
            final_sinc_prob=0,
            kernel_list=['iso'],
            kernel_prob=[1],
            kernel_list2=['iso'],
            kernel_prob2=[1],
        )
    )
    for _ in range(4):
        recorder = DrawRecorder(monkeypatch)
        item = dataset[1]
        assert len(recorder.sizes) == 2  # no size drawn for the final sinc filter
        (size1, size2), ((low1, sigma1), (low2, sigma2)) = recorder.sizes, recorder.cutoffs()
        assert (low1, low2) == (0.2, 0.2) and 0.2 <= sigma1 <= 3 and 0.2 <= sigma2 <= 1.5
        np.testing.assert_allclose(
            item['kernel1'].numpy(), padded_to_21(bivariate_Gaussian(size1, sigma1, sigma1, 0)), atol=1e-7, rtol=0
        )
        np.testing.assert_allclose(
            item['kernel2'].numpy(), padded_to_21(bivariate_Gaussian(size2, sigma2, sigma2, 0)), atol=1e-7, rtol=0
        )
        assert torch.equal(item['sinc_kernel'], dataset.pulse_tensor)
        monkeypatch.undo()


def test_defaults_follow_the_original_configs(gt_folder):
    dataset = RealESRGANDataset({'dataroot_gt': str(gt_folder / 'hr')})  # io_backend defaults to disk too
    assert dataset.crop_pad_size == 400 and dataset.io_backend_opt == {'type': 'disk'}
    assert dataset.kernel_prob == [0.45, 0.25, 0.12, 0.03, 0.12, 0.03] and dataset.sinc_prob2 == 0.1
    assert dataset.blur_sigma == [0.2, 3] and dataset.blur_sigma2 == [0.2, 1.5] and dataset.betap_range == [1, 2]
    assert dataset[0]['gt'].shape == (3, 400, 400)


def test_other_blur_kernel_size_is_reported_as_ignored(gt_folder, caplog):
    dataset = RealESRGANDataset(make_opt(gt_folder / 'hr', blur_kernel_size2=15))
    assert 'blur_kernel_size2=15 is ignored' in caplog.text and 'blur_kernel_size=' not in caplog.text
    assert dataset[0]['kernel2'].shape == (21, 21)


@pytest.mark.subprocess
def test_dataloader_workers_open_their_own_lmdb(gt_lmdb):
    dataset = RealESRGANDataset(make_opt(gt_lmdb, io_backend={'type': 'lmdb'}))
    batches = list(DataLoader(dataset, batch_size=3, num_workers=1))
    assert len(batches) == 1 and batches[0]['gt'].shape == (3, 3, 48, 48)
    assert batches[0]['kernel1'].shape == (3, 21, 21) and batches[0]['gt_path'] == ['baboon', 'comic', 'lenna']


# ----------------------------------------------------------------------------------------------- bad input


def test_lmdb_backend_needs_an_lmdb_folder(gt_folder):
    with pytest.raises(ValueError, match=r'dataroot_gt must be an LMDB folder whose name ends in "\.lmdb"'):
        RealESRGANDataset(make_opt(gt_folder / 'hr', io_backend={'type': 'lmdb'}))


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='dataroot_gt folder .*nowhere.* does not exist'):
        RealESRGANDataset(make_opt(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match='nowhere.lmdb'):
        RealESRGANDataset(make_opt(tmp_path / 'nowhere.lmdb', io_backend={'type': 'lmdb'}))


def test_missing_or_empty_meta_info(gt_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match='meta_info file .*absent.txt.* does not exist'):
        RealESRGANDataset(make_opt(gt_folder, meta_info=str(tmp_path / 'absent.txt')))
    empty = tmp_path / 'empty.txt'
    empty.write_text('\n  \n')
    with pytest.raises(ValueError, match='meta_info file .*empty.txt.* is empty'):
        RealESRGANDataset(make_opt(gt_folder, meta_info=str(empty)))


def test_folder_without_images(tmp_path):
    (tmp_path / 'notes.txt').write_text('no images here')
    with pytest.raises(ValueError, match='holds no images'):
        RealESRGANDataset(make_opt(tmp_path))


def test_listed_file_that_does_not_exist(gt_folder, tmp_path):
    meta_info = tmp_path / 'meta.txt'
    meta_info.write_text('hr/baboon.png\nhr/ghost.png (480,480,3)\n')
    # found when the dataset is built, not when the loader reaches it
    with pytest.raises(
        FileNotFoundError,
        match=r'lists 1 of 2 files that do not exist under dataroot_gt, e\.g\. '
        r'".*hr/ghost\.png"',
    ):
        RealESRGANDataset(make_opt(gt_folder, meta_info=str(meta_info)))
    # a file that disappears after that is named when the loader reaches it
    root = tmp_path / 'root'
    (root / 'hr').mkdir(parents=True)
    for name in ('baboon', 'ghost'):
        shutil.copyfile(gt_folder / 'hr' / 'baboon.png', root / 'hr' / f'{name}.png')
    dataset = RealESRGANDataset(make_opt(root, meta_info=str(meta_info)))
    assert dataset[0]['gt'].shape == (3, 48, 48)
    (root / 'hr' / 'ghost.png').unlink()
    with pytest.raises(FileNotFoundError, match=r'gt image ".*hr/ghost\.png" does not exist'):
        dataset[1]


def test_lmdb_key_that_is_not_stored(gt_lmdb):
    dataset = RealESRGANDataset(make_opt(gt_lmdb, io_backend={'type': 'lmdb'}))
    dataset.paths.append('ghost')
    with pytest.raises(FileNotFoundError, match='LMDB key "ghost" is not stored'):
        dataset[3]


def test_unreadable_image(tmp_path):
    (tmp_path / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n not really a png')
    dataset = RealESRGANDataset(make_opt(tmp_path))
    with pytest.raises(ValueError, match=r'Cannot decode image ".*broken\.png"'):
        dataset[0]


class FlakyClient:
    """A file client whose first ``failures`` reads raise an OSError."""

    def __init__(self, content: bytes, failures: int):
        self.content, self.failures, self.calls = content, failures, 0

    def get(self, path, client_key='default'):
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError('Stale file handle')
        return self.content


def test_io_errors_are_retried_then_reported(gt_folder, monkeypatch):
    sleeps = []
    monkeypatch.setattr(data_io.time, 'sleep', sleeps.append)
    dataset = RealESRGANDataset(make_opt(gt_folder / 'hr'))
    content = (gt_folder / 'hr' / 'lenna.png').read_bytes()
    dataset.file_client = FlakyClient(content, failures=2)
    assert dataset[2]['gt'].shape == (3, 48, 48) and dataset.file_client.calls == 3 and sleeps == [1.0, 1.0]
    dataset.file_client = FlakyClient(content, failures=3)
    with pytest.raises(OSError, match=r'Reading gt image ".*lenna\.png" failed 3 times: Stale file handle'):
        dataset[2]


def test_same_numbers_as_basicsr_copy_of_the_original(tmp_path):
    """BasicSR ships the original class as RealESRGANDataset_basicsr: same seeds must give identical items."""
    (tmp_path / 'hr').mkdir()
    for seed, (h, w) in enumerate([(430, 460), (120, 90)]):  # one cropped, one padded to 400x400
        cv2.imwrite(str(tmp_path / 'hr' / f'{seed}.png'), noise_image(h, w, seed))
    (tmp_path / 'meta.txt').write_text('hr/0.png\nhr/1.png\n')
    opt = make_opt(tmp_path, meta_info=str(tmp_path / 'meta.txt'), use_hflip=True, use_rot=True, crop_pad_size=400)
    ours = RealESRGANDataset(opt)
    original = DATASET_REGISTRY.get('RealESRGANDataset_basicsr')(opt)
    for seed in range(6):
        items = []
        for dataset in (ours, original):
            random.seed(seed)
            np.random.seed(seed)
            items.append(dataset[seed % 2])
        assert items[0]['gt_path'] == items[1]['gt_path']
        for key in ('gt', 'kernel1', 'kernel2', 'sinc_kernel'):
            assert torch.equal(items[0][key], items[1][key]), key
