"""A spandrel model loads without torch's notices about spandrel's own code (its meshgrid calls), in a fresh process
as a user runs it: the notice is shown once per process, so a test process that built the network first would hide
it."""

import subprocess
import sys

import pytest
import torch
from helpers import INPUTS, REPO_ROOT, community_state_dict

pytest.importorskip('spandrel')


@pytest.mark.subprocess
@pytest.mark.parametrize('arch', ['SwinIR', 'HAT'])
def test_a_window_attention_model_leaks_no_meshgrid_warning(arch, tmp_path):
    weights = tmp_path / f'{arch}.pth'
    torch.save(community_state_dict(arch), weights)
    flags = ['--model_path', str(weights), '-i', str(INPUTS / 'astronaut.png'), '-o', str(tmp_path / 'out')]
    result = subprocess.run(
        [sys.executable, 'inference_realesrgan.py', *flags, '--fp32'],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert 'meshgrid' not in result.stdout + result.stderr
    assert (tmp_path / 'out' / 'astronaut_out.png').is_file()
