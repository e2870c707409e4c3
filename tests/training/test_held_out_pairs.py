"""Held-out validation pairs made by the training degradation: the same on every run; the script that writes them."""

import random
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from helpers import REPO_ROOT
from training_helpers import load_options

from realesrgan.training.held_out_pairs import degrade_held_out


@pytest.fixture(scope='module')
def held_out(tmp_path_factory, sample_bgr) -> Path:
    """Two held-out GT images: 128x128, and 100x90 (cropped to an 88 px square for scale 4)."""
    folder = tmp_path_factory.mktemp('held_out')
    cv2.imwrite(str(folder / 'a.png'), sample_bgr)
    cv2.imwrite(str(folder / 'b.png'), sample_bgr[:100, :90])
    return folder


def test_pairs_are_degraded_the_same_on_every_run_and_leave_the_generators_alone(held_out):
    opt = load_options('train_realesrnet_general_x4v3')
    random.seed(1)
    torch.manual_seed(1)
    np.random.seed(1)
    before = (random.random(), torch.rand(1).item(), np.random.rand())
    random.seed(1)
    torch.manual_seed(1)
    np.random.seed(1)
    first = degrade_held_out(str(held_out), opt, seed=3, draws=2)
    assert (random.random(), torch.rand(1).item(), np.random.rand()) == before  # generators restored
    again = degrade_held_out(str(held_out), opt, seed=3, draws=2)
    other = degrade_held_out(str(held_out), opt, seed=4, draws=2)
    assert [pair.name for pair in first] == ['a_0.png', 'a_1.png', 'b_0.png', 'b_1.png']
    assert [pair.gt.shape for pair in first] == [(128, 128, 3)] * 2 + [(88, 88, 3)] * 2
    assert [pair.lq.shape for pair in first] == [(32, 32, 3)] * 2 + [(22, 22, 3)] * 2
    assert all(np.array_equal(a.lq, b.lq) and np.array_equal(a.gt, b.gt) for a, b in zip(first, again))
    assert not np.array_equal(first[0].lq, first[1].lq)  # two draws of one image differ
    assert not np.array_equal(first[0].lq, other[0].lq)
    assert np.array_equal(first[0].gt, cv2.imread(str(held_out / 'a.png')))  # the whole image, not flipped
    # degraded, not just downscaled: far from a clean area downscale of the GT
    clean = cv2.resize(first[0].gt, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert np.abs(first[0].lq.astype(np.float32) - clean).mean() > 2


@pytest.mark.slow
@pytest.mark.subprocess
def test_script_writes_the_gt_and_lq_folders(held_out, tmp_path):
    script = [sys.executable, str(REPO_ROOT / 'scripts' / 'make_held_out_pairs.py'), '--input', str(held_out)]
    script += [
        '--opt',
        str(REPO_ROOT / 'options' / 'finetune_realesr-animevideov3.yml'),
        '--output',
        str(tmp_path / 'v'),
    ]
    result = subprocess.run(script, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in (tmp_path / 'v' / 'lq').iterdir()) == ['a.png', 'b.png']
    assert cv2.imread(str(tmp_path / 'v' / 'lq' / 'b.png')).shape == (22, 22, 3)
    assert cv2.imread(str(tmp_path / 'v' / 'gt' / 'b.png')).shape == (88, 88, 3)
    again = subprocess.run(script, capture_output=True, text=True, timeout=240)
    assert again.returncode == 2 and 'pass --overwrite' in again.stderr.splitlines()[-1]
