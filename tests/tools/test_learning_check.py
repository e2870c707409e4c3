"""benchmarks/learning_check.py on a tiny network for two iterations: the table, the numbers, the plot (matplotlib or
OpenCV). The real check (a few minutes of training) is a benchmark, not a test: see README, Training."""

import json
import sys

import cv2
import learning_check
import numpy as np
import pytest
from test_data_scripts import load_script


@pytest.fixture(scope='module')
def demo(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('learning') / 'demo'
    assert load_script('make_demo_dataset').main(['--output', str(root)]) == 0
    return str(root)


@pytest.mark.slow
@pytest.mark.parametrize('train_on', ['demo', 'tiles'])
def test_two_iterations_give_the_table_the_numbers_and_the_plot(demo, tmp_path, train_on, capsys):
    argv = ['--init', 'scratch', '--num_feat', '4', '--num_conv', '1', '--iters', '2', '--eval_every', '1']
    argv += ['--draws', '1', '--train_on', train_on, '--data', demo, '--output', str(tmp_path)]
    assert learning_check.main(argv) == 0
    result = json.loads((tmp_path / 'learning_check.json').read_text())
    assert [entry['iter'] for entry in result['evaluations']] == [0, 1, 2]
    assert len(result['losses']) == len(result['seconds']) == 2
    assert result['train_images'] == (8 if train_on == 'demo' else 116)
    bicubic = result['bicubic']
    assert 10 < bicubic['psnr'] < 40 and 0 < bicubic['ssim'] < 1
    table = (tmp_path / 'learning_check.md').read_text()
    last = result['evaluations'][-1]
    assert f'| 2 | {result["losses"][1]:.4f} | {last["psnr"]:.2f} | {last["ssim"]:.4f} |' in table
    assert f'{last["psnr"] - bicubic["psnr"]:+.2f}' in table and f'on {learning_check.cpu_description()}' in table
    assert 'final PSNR gain over bicubic' in capsys.readouterr().out
    assert cv2.imread(str(tmp_path / 'learning_check.png')) is not None


def test_the_plot_without_matplotlib_is_drawn_with_opencv(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'matplotlib', None)  # import matplotlib raises ImportError
    losses = list(np.linspace(0.08, 0.04, 50))
    evaluations = [{'iter': 0, 'psnr': 22.0}, {'iter': 25, 'psnr': 24.0}, {'iter': 50, 'psnr': 24.5}]
    assert learning_check.plot(str(tmp_path / 'p.png'), losses, evaluations, {'psnr': 23.0}) == 'opencv'
    image = cv2.imread(str(tmp_path / 'p.png'))
    assert image.shape == (320, 820, 3)
    red = (image[:, 410:, 2] > 150) & (image[:, 410:, 1] < 100) & (image[:, 410:, 0] < 100)
    green = (image[:, 410:, 1] > 120) & (image[:, 410:, 0] < 100) & (image[:, 410:, 2] < 100)
    assert red.sum() > 100 and green.sum() > 50  # the bicubic level and the PSNR curve
