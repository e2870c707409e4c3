"""RealESRGANPairedDataset: ready-made GT/LQ pairs, for fine-tuning on data whose degradations are known.

With ``high_order_degradation: False`` the model skips the synthetic degradation and trains on these pairs as
they are; this dataset only reads them, crops matching patches and flips/rotates both alike.
"""

import os
from typing import Any, Dict, List, Tuple

import numpy as np
from basicsr.data.data_util import paired_paths_from_folder, paired_paths_from_lmdb
from basicsr.data.transforms import augment, paired_random_crop
from basicsr.utils.registry import DATASET_REGISTRY
from torchvision.transforms.functional import normalize

from realesrgan.data.data_io import (
    FileClientDataset,
    image_to_tensor,
    read_meta_info,
    require_folder,
    require_listed_files,
    require_lmdb_folder,
)
from realesrgan.fileio.images import list_images

__all__ = ['RealESRGANPairedDataset']


@DATASET_REGISTRY.register()
class RealESRGANPairedDataset(FileClientDataset):
    """Paired GT/LQ images for Real-ESRGAN fine-tuning.

    Pairs come from (``io_backend.type`` / options):

    * ``lmdb``: ``dataroot_gt`` and ``dataroot_lq`` are LMDB folders (both ending in ``.lmdb``) holding the same
      keys;
    * ``disk`` with ``meta_info``: a text file of ``gt_path, lq_path`` lines, relative to ``dataroot_gt`` and
      ``dataroot_lq``;
    * ``disk`` without ``meta_info``: each GT image of ``dataroot_gt`` pairs with the LQ image of ``dataroot_lq``
      named ``filename_tmpl.format(gt_basename)`` plus the same extension (``filename_tmpl`` defaults to ``'{}'``).

    In the training phase (``phase: train``) a random ``gt_size`` patch and the matching ``gt_size / scale`` LQ
    patch are cropped, then flipped/rotated alike (``use_hflip``, ``use_rot``); otherwise the GT is cropped to
    exactly ``scale`` times the LQ size. Optional ``mean``/``std`` normalise both images.

    Each item is a dict: ``gt`` and ``lq`` (3xHxW float RGB in [0, 1], or normalised), ``gt_path``, ``lq_path``.

    Args:
        opt: Dataset options, as in the ``datasets.train`` section of a training config.
    """

    def __init__(self, opt: Dict[str, Any]) -> None:
        super().__init__(opt)
        self.mean = opt.get('mean')
        self.std = opt.get('std')
        self.gt_folder, self.lq_folder = opt['dataroot_gt'], opt['dataroot_lq']
        self.filename_tmpl = opt.get('filename_tmpl', '{}')
        self.paths = self._collect_pairs()

    def _collect_pairs(self) -> List[Dict[str, str]]:
        """List the pairs as ``{'gt_path', 'lq_path'}`` dicts and set up the LMDB options if needed."""
        backend = self.io_backend_opt.get('type', 'disk')
        if backend == 'lmdb':
            for key, folder in (('dataroot_gt', self.gt_folder), ('dataroot_lq', self.lq_folder)):
                require_lmdb_folder(folder, key)
                read_meta_info(os.path.join(folder, 'meta_info.txt'))
            self.io_backend_opt['db_paths'] = [self.lq_folder, self.gt_folder]
            self.io_backend_opt['client_keys'] = ['lq', 'gt']
            try:
                return paired_paths_from_lmdb([self.lq_folder, self.gt_folder], ['lq', 'gt'])
            except ValueError as error:
                raise ValueError(
                    f'LMDB folders "{self.gt_folder}" and "{self.lq_folder}" must hold the same keys '
                    f'(compare their meta_info.txt files): {error}'
                ) from error
        require_folder(self.gt_folder, 'dataroot_gt')
        require_folder(self.lq_folder, 'dataroot_lq')
        if self.opt.get('meta_info'):
            return self._pairs_from_meta_info(self.opt['meta_info'])
        if not list_images(self.gt_folder):
            raise ValueError(f'dataroot_gt folder "{self.gt_folder}" holds no images.')
        try:
            pairs = paired_paths_from_folder([self.lq_folder, self.gt_folder], ['lq', 'gt'], self.filename_tmpl)
        except AssertionError as error:
            raise ValueError(
                f'GT folder "{self.gt_folder}" and LQ folder "{self.lq_folder}" do not pair up '
                f'(filename_tmpl "{self.filename_tmpl}"): {error}'
            ) from error
        return sorted(pairs, key=lambda pair: pair['gt_path'])  # the folder scan order depends on the file system

    def _pairs_from_meta_info(self, meta_info: str) -> List[Dict[str, str]]:
        """Read ``gt_path, lq_path`` lines of a meta_info file into pair dicts."""
        pairs = []
        for number, line in enumerate(read_meta_info(meta_info), start=1):
            fields = [field.strip() for field in line.split(',')]
            if len(fields) != 2 or not all(fields):
                raise ValueError(
                    f'Line {number} of meta_info file "{meta_info}" is "{line}"; expected '
                    '"gt_path, lq_path" (make the file with scripts/generate_meta_info_pairdata.py).'
                )
            pairs.append(
                {'gt_path': os.path.join(self.gt_folder, fields[0]), 'lq_path': os.path.join(self.lq_folder, fields[1])}
            )
        require_listed_files([pair['gt_path'] for pair in pairs], meta_info, 'dataroot_gt')
        require_listed_files([pair['lq_path'] for pair in pairs], meta_info, 'dataroot_lq')
        return pairs

    def _crop_pair(
        self, img_gt: np.ndarray, img_lq: np.ndarray, gt_path: str, lq_path: str
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Crop matching patches (training) or trim the GT to ``scale`` x LQ (validation), with clear errors."""
        scale = self.opt['scale']
        (h_gt, w_gt), (h_lq, w_lq) = img_gt.shape[:2], img_lq.shape[:2]
        is_train = self.opt.get('phase') == 'train'
        too_small = h_gt < h_lq * scale or w_gt < w_lq * scale
        if too_small or (is_train and (h_gt, w_gt) != (h_lq * scale, w_lq * scale)):
            raise ValueError(
                f'Scale mismatches: GT "{gt_path}" is {h_gt}x{w_gt} (HxW) but LQ "{lq_path}" is '
                f'{h_lq}x{w_lq}; with scale {scale} the GT must be {h_lq * scale}x{w_lq * scale}. '
                'Fix or remove this pair, or set the right scale.'
            )
        if not is_train:
            return img_gt[: h_lq * scale, : w_lq * scale, ...], img_lq
        gt_size = self.opt['gt_size']
        lq_patch = gt_size // scale
        if h_lq < lq_patch or w_lq < lq_patch:
            raise ValueError(
                f'LQ smaller than patch size: LQ "{lq_path}" is {h_lq}x{w_lq} (HxW) but gt_size '
                f'{gt_size} / scale {scale} needs at least {lq_patch}x{lq_patch} (GT "{gt_path}" is '
                f'{h_gt}x{w_gt}). Remove this pair or lower gt_size.'
            )
        img_gt, img_lq = paired_random_crop(img_gt, img_lq, gt_size, scale, gt_path)
        return augment([img_gt, img_lq], self.opt.get('use_hflip', True), self.opt.get('use_rot', False))

    def __getitem__(self, index: int) -> Dict[str, Any]:
        gt_path, lq_path = self.paths[index]['gt_path'], self.paths[index]['lq_path']
        img_gt, img_lq = self._crop_pair(
            self.read_image(gt_path, 'gt'), self.read_image(lq_path, 'lq'), gt_path, lq_path
        )

        img_gt, img_lq = image_to_tensor(img_gt), image_to_tensor(img_lq)
        if self.mean is not None or self.std is not None:
            mean = self.mean if self.mean is not None else [0.0, 0.0, 0.0]
            std = self.std if self.std is not None else [1.0, 1.0, 1.0]
            normalize(img_lq, mean, std, inplace=True)
            normalize(img_gt, mean, std, inplace=True)
        return {'lq': img_lq, 'gt': img_gt, 'lq_path': lq_path, 'gt_path': gt_path}
