"""benchmarks/gpu_check.py in its dry mode: every check's code path, tiny, on the CPU (no timing is judged)."""

import json

import gpu_check
import pytest
import torch


def test_without_a_gpu_the_real_run_says_to_use_the_dry_run(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert gpu_check.main([]) == 2
    assert '--dry-run' in capsys.readouterr().out


def test_the_memory_cap_stand_in_raises_out_of_memory():
    capped = gpu_check.MemoryCapped(torch.nn.Identity(), max_pixels=100)
    assert capped(torch.zeros(1, 3, 10, 10)).shape == (1, 3, 10, 10)
    with pytest.raises(torch.OutOfMemoryError):
        capped(torch.zeros(2, 3, 10, 10))


@pytest.mark.slow
@pytest.mark.subprocess
def test_dry_run_passes_every_check(tmp_path, capsys):
    out = tmp_path / 'gpu_check.json'
    status = gpu_check.main(['--dry-run', '--json', str(out)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    outcomes = json.loads(out.read_text())['outcomes']
    names = ' | '.join(outcome['name'] for outcome in outcomes)
    for expected in (
        'bf16 vs fp32',
        'tile_batch',
        'out-of-memory fallback',
        'channels-last',
        'torch.compile (aot_eager)',
        'video job',
        'frames per pass',
        'distributed training, 2 processes (gloo)',
    ):
        assert expected in names
    assert {outcome['status'] for outcome in outcomes} <= {'PASS', 'INFO'}
    oom = [outcome for outcome in outcomes if outcome['name'] == 'out-of-memory fallback'][0]
    assert 'retries down to tile 48' in oom['detail'] and 'identical' in oom['detail']
