"""The CPU-path benchmark (benchmarks/cpu_paths.py) and the emulation of older CPU kinds (benchlib/emulation.py)."""

import json
import os
import sys

import build_ncnn
import cpu_paths
import pytest
import torch
from benchlib import cpu_path_worker, emulation

from realesrgan.archs.srvgg_arch import SRVGGNetCompact


def test_an_emulated_kind_caps_onednn_aten_and_mkl_and_ncnn_comes_from_the_given_build():
    assert emulation.emulation_env(None) == {}
    assert emulation.emulation_env('avx2') == {
        'ONEDNN_MAX_CPU_ISA': 'AVX2',
        'ATEN_CPU_CAPABILITY': 'avx2',
        'MKL_ENABLE_INSTRUCTIONS': 'AVX2',
    }
    env = {'PYTHONPATH': '/checkout', 'HOME': '/root'}
    assert emulation.ncnn_pythonpath(None, env) is env
    assert emulation.ncnn_pythonpath('/ncnn/python', env) == {
        'PYTHONPATH': f'/ncnn/python{os.pathsep}/checkout',
        'HOME': '/root',
    }
    assert emulation.ncnn_pythonpath('/ncnn/python', {})['PYTHONPATH'] == '/ncnn/python'


def test_the_ncnn_build_of_a_kind_leaves_out_its_newer_extensions_and_uses_this_python():
    options = build_ncnn.cmake_options('avx2')
    assert {'-DNCNN_AVX512=OFF', '-DNCNN_AVXVNNI=OFF', '-DNCNN_VULKAN=OFF', '-DNCNN_PYTHON=ON'} <= set(options)
    assert f'-DPython3_EXECUTABLE={sys.executable}' in options
    assert '-DNCNN_AVX512=OFF' not in build_ncnn.cmake_options('avx512')
    assert '-DNCNN_AVX512BF16=OFF' in build_ncnn.cmake_options('avx512')


def test_an_unfinished_build_is_not_offered_as_an_ncnn_package(tmp_path):
    assert build_ncnn.python_package_dir(tmp_path) is None
    (tmp_path / 'python' / 'ncnn').mkdir(parents=True)
    assert build_ncnn.python_package_dir(tmp_path) is None
    (tmp_path / 'python' / 'ncnn' / 'ncnn.cpython-311-x86_64-linux-gnu.so').write_bytes(b'')
    assert build_ncnn.python_package_dir(tmp_path) == tmp_path / 'python'


@pytest.mark.parametrize(
    ('path', 'tolerance'), [('engine', 1e-6), ('contiguous', 1e-5), ('jit_freeze', 1e-4), ('bf16', 0.05)]
)
def test_every_torch_path_computes_the_reference_paths_output(path, tolerance):
    torch.manual_seed(0)
    model = SRVGGNetCompact(num_feat=16, num_conv=4, upscale=4).eval()
    image = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        reference = cpu_path_worker.PATH_BUILDERS['channels_last'](model, image)(image)
        output = cpu_path_worker.PATH_BUILDERS[path](model, image)(image)
    assert output.shape == reference.shape == (1, 3, 80, 96)
    assert (output - reference).abs().max().item() < tolerance
    assert reference.abs().max().item() > 0.01  # the check above compares something


def test_nnpack_path_runs_winograd_convolutions_where_torch_has_nnpack():
    if not torch._nnpack_available():
        pytest.skip('this torch build has no NNPACK')
    torch.manual_seed(0)
    model = SRVGGNetCompact(num_feat=16, num_conv=4, upscale=4).eval()
    image = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        reference = model(image)
        output = cpu_path_worker.PATH_BUILDERS['nnpack'](model, image)(image)
    assert 1e-9 < (output - reference).abs().max().item() < 1e-4  # Winograd rounds differently, but closely


def test_paths_default_to_all_with_bf16_only_where_auto_picks_it():
    args = cpu_paths.parse_args([])
    assert 'bf16' not in cpu_paths.chosen_paths(args, 'fp32')
    assert cpu_paths.chosen_paths(args, 'bf16')[0] == 'channels_last'
    assert {'bf16', 'inductor', 'nnpack', 'ncnn-bf16'} <= set(cpu_paths.chosen_paths(args, 'bf16'))
    named = cpu_paths.parse_args(['--paths', 'ncnn-fp32', 'bf16'])
    assert cpu_paths.chosen_paths(named, 'fp32') == ['channels_last', 'ncnn-fp32', 'bf16']


def test_bad_options_are_refused(capsys):
    for argv in (['--repeats', '0'], ['--models', 'no-such-model'], ['--emulate-kind', 'sse']):
        with pytest.raises(SystemExit):
            cpu_paths.parse_args(argv)
    assert 'no-such-model' in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.weights
def test_an_emulated_avx2_run_names_the_kind_and_leaves_ncnn_out_without_a_build(tmp_path, capsys, monkeypatch):
    for name in emulation.EMULATED_KINDS['avx2']:
        monkeypatch.setenv(name, 'restored after the test')  # main() sets them; monkeypatch puts them back
    out = tmp_path / 'paths.json'
    argv = ['--models', 'realesr-animevideov3', '--sizes', '16', '--repeats', '1', '--threads', '1']
    status = cpu_paths.main(argv + ['--paths', 'ncnn-fp32', '--emulate-kind', 'avx2', '--json', str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert 'kind: AVX2, no AVX-512' in printed and 'emulated kind: avx2' in printed and 'left out' in printed
    result = json.loads(out.read_text())
    assert result['emulated'] == 'avx2' and result['machine']['auto_precision'] == 'fp32'
    assert [row['path'] for row in result['rows']] == ['channels_last']  # ncnn left out: no build for the kind
    for row in result['rows']:
        assert 'error' not in row and row['threads'] == 1 and len(row['times']) == 1 and row['median_s'] > 0


def test_missing_weights_stop_the_run_with_one_line(tmp_path, capsys):
    # RealESRNet_x4plus has no packaged ncnn weights: with an empty weights folder nothing can be measured
    status = cpu_paths.main(['--models', 'RealESRNet_x4plus', '--sizes', '16', '--weights-dir', str(tmp_path)])
    assert status == 2
    assert 'error: No weights found for RealESRNet_x4plus' in capsys.readouterr().out
