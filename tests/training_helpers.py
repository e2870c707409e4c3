"""Training helpers of the tests of tests/models and tests/training: tiny configs, batches and datasets."""

import os
from pathlib import Path
from typing import Any, Dict

import cv2
import numpy as np
import torch
import yaml
from helpers import REPO_ROOT, pulses

OPTIONS = REPO_ROOT / 'options'
TINY_DEMO_G = {'num_feat': 8, 'num_block': 1, 'num_grow_ch': 4}
TINY_D_FEAT = 8
GT_SIZE = 32
CROP = 80  # the smallest comfortable GT for the default degradations (see SecondOrderDegradation._check_size)
TINY_G = {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1, 'num_grow_ch': 4}
TINY_D = {'type': 'UNetDiscriminatorSN', 'num_in_ch': 3, 'num_feat': 8, 'skip_connection': True}


def tiny_opt(model_type: str, root: Path, **top: Any) -> Dict[str, Any]:
    """A parsed-looking training config for a tiny x4 model on the CPU; ``top`` overrides top-level keys."""
    opt: Dict[str, Any] = {
        'name': 'tiny',
        'model_type': model_type,
        'scale': 4,
        'num_gpu': 0,
        'is_train': True,
        'dist': False,
        'rank': 0,
        'world_size': 1,
        'manual_seed': 0,
        'gt_size': GT_SIZE,
        'queue_size': 8,
        'network_g': dict(TINY_G),
        'path': {
            'pretrain_network_g': None,
            'strict_load_g': True,
            'resume_state': None,
            'models': str(root),
            'training_states': str(root),
            'visualization': str(root),
        },
        'train': {
            'ema_decay': 0.999,
            'optim_g': {'type': 'Adam', 'lr': 2e-3, 'weight_decay': 0, 'betas': [0.9, 0.99]},
            'scheduler': {'type': 'MultiStepLR', 'milestones': [1000], 'gamma': 0.5},
            'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'},
        },
    }
    if model_type == 'RealESRGANModel':
        opt['network_d'] = dict(TINY_D)
        opt['train'].update(
            {
                'optim_d': {'type': 'Adam', 'lr': 2e-3, 'weight_decay': 0, 'betas': [0.9, 0.99]},
                'gan_opt': {
                    'type': 'GANLoss',
                    'gan_type': 'vanilla',
                    'real_label_val': 1.0,
                    'fake_label_val': 0.0,
                    'loss_weight': 0.1,
                },
                'net_d_iters': 1,
                'net_d_init_iters': 0,
            }
        )
    opt.update(top)
    return opt


def gt_batch(sample_bgr: np.ndarray, index: int, batch: int = 2) -> torch.Tensor:
    """``batch`` different CROPxCROP RGB crops of the sample image; ``index`` moves the crops."""
    rgb = torch.from_numpy(sample_bgr[:, :, ::-1].astype(np.float32) / 255.0).permute(2, 0, 1)
    room = min(rgb.shape[1:]) - CROP
    corners = [((7 * index + 13 * item) % room, (11 * index + 5 * item) % room) for item in range(batch)]
    return torch.stack([rgb[:, top : top + CROP, left : left + CROP] for top, left in corners]).contiguous()


def synthetic_batch(gt: torch.Tensor) -> Dict[str, torch.Tensor]:
    """A RealESRGANDataset-like batch with mild, fixed kernels."""
    blur = torch.zeros(gt.size(0), 21, 21)
    blur[:, 9:12, 9:12] = 1 / 9
    return {'gt': gt, 'kernel1': blur, 'kernel2': blur.clone(), 'sinc_kernel': pulses(gt.size(0))}


def weights(net: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """A detached copy of a (possibly wrapped) network's state dict."""
    net = getattr(net, 'module', net)
    return {key: value.detach().clone() for key, value in net.state_dict().items()}


def load_options(name: str) -> Dict[str, Any]:
    """An options file of options/ as a dict."""
    return yaml.safe_load((OPTIONS / f'{name}.yml').read_text())


def write_dataset(root: Path, sample_bgr: np.ndarray, count: int) -> None:
    """A tiny dataset in the demo layout: hr/ images with a meta_info list, and one validation pair."""
    (root / 'hr').mkdir(parents=True)
    (root / 'meta_info').mkdir()
    (root / 'val' / 'gt').mkdir(parents=True)
    (root / 'val' / 'lq').mkdir()
    names = []
    for index in range(count):
        top, left = 10 * index, 40 - 10 * index
        cv2.imwrite(str(root / 'hr' / f'img_{index}.png'), sample_bgr[top : top + 80, left : left + 80])
        names.append(f'hr/img_{index}.png\n')
    (root / 'meta_info' / 'meta_info_demo.txt').write_text(''.join(names))
    val_gt = np.ascontiguousarray(sample_bgr[64:128, 64:128])
    cv2.imwrite(str(root / 'val' / 'gt' / 'val_0.png'), val_gt)
    cv2.imwrite(str(root / 'val' / 'lq' / 'val_0.png'), cv2.resize(val_gt, (16, 16), interpolation=cv2.INTER_AREA))


def tiny_demo_options(demo: str, name: str, dataset: Path, total_iter: int) -> Dict[str, Any]:
    """A demo config of options/, shrunk: tiny networks, 80 px crops, a few iterations on ``dataset``."""
    opt = load_options(demo)
    opt['name'] = name
    opt['gt_size'] = 32
    opt['queue_size'] = 4
    train_data = opt['datasets']['train']
    train_data.update(
        dataroot_gt=str(dataset),
        meta_info=str(dataset / 'meta_info' / 'meta_info_demo.txt'),
        crop_pad_size=80,
        gt_size=32,
        batch_size_per_gpu=2,
        dataset_enlarge_ratio=1,
    )
    opt['datasets']['val'].update(dataroot_gt=str(dataset / 'val' / 'gt'), dataroot_lq=str(dataset / 'val' / 'lq'))
    opt['network_g'].update(TINY_DEMO_G)
    if 'network_d' in opt:
        opt['network_d']['num_feat'] = TINY_D_FEAT
    opt['train']['total_iter'] = total_iter
    opt['val']['val_freq'] = 2
    opt['logger'].update(print_freq=1, save_checkpoint_freq=2)
    return opt


def single_thread_env() -> Dict[str, str]:
    """The environment for training subprocesses: one thread each (the test machine has two cores)."""
    return dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONWARNINGS='ignore')
