"""The benchmark harness of benchmarks/: its pure parts, and one tiny run of our side (no timings asserted).

``benchmarks/`` is on the tests' import path (pyproject.toml), as it is for a script run as ``python benchmarks/x.py``.
"""

import json
import math

import inference_benchmark
import numpy as np
import pytest
import torch
import training_speed
from benchlib import conv_flops, conv_peak_worker, machine, measure
from benchlib import inference_report as report
from benchlib.inference_report import Measurement
from benchlib.text_table import format_table
from torch import nn

from realesrgan.inference.precision import CPU_KIND_AMX_BF16, CPU_KIND_AVX2, CPU_KIND_ZEN5_BF16


def test_conv_flops_count_every_resolution():
    single = nn.Conv2d(3, 8, 3, padding=1)
    assert conv_flops.conv_flops_per_input_pixel(single) == 2 * 8 * 3 * 9
    # a conv at input resolution, a x2 pixel shuffle, then a grouped 1x1 conv on 4x as many pixels
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.PixelShuffle(2), nn.Conv2d(4, 6, 1, groups=2))
    expected = 2 * 16 * 3 * 9 + 4 * (2 * 6 * 2 * 1)
    assert conv_flops.conv_flops_per_input_pixel(net) == expected
    assert conv_flops.model_gflops(expected, 100, 50) == pytest.approx(expected * 5000 / 1e9)


def test_time_calls_warms_up_and_peak_memory_is_read():
    calls = []
    times, result = measure.time_calls(lambda: calls.append(1) or len(calls), repeats=3)
    assert len(calls) == 4 and result == 4 and len(times) == 3 and all(t >= 0 for t in times)
    assert measure.time_calls(lambda: 7, repeats=0) == ([], 7)
    assert 10 < measure.peak_rss_mib() < 1e6  # this test process holds torch: tens of MiB at least


def test_reseeded_repeats_the_same_draws():
    draw = measure.reseeded(lambda: (np.random.rand(), torch.rand(1).item()), seed=3)
    assert draw() == draw()


def test_parse_size_and_bad_sizes():
    assert inference_benchmark.parse_size('256') == (256, False)
    assert inference_benchmark.parse_size('512t') == (512, True)
    for bad in ('abc', '4', '-8', '12x'):
        with pytest.raises(Exception, match='invalid size'):
            inference_benchmark.parse_size(bad)


def test_a_tiled_512_px_run_brings_the_untiled_run_of_one_tile():
    # 256 px tiles with tile_pad 10 and the default tile_blend 22 run as 256 + 2 * 32 = 320 px
    assert inference_benchmark.tile_side_of(512, 256, 10) == 320
    args = inference_benchmark.parse_args(['--sizes', '256', '512t', '--skip-original'])
    assert args.sizes == [(256, False), (512, True), (320, False)]
    assert inference_benchmark.parse_args(['--sizes', '256']).sizes == [(256, False)]


def test_precisions_resolve_as_the_library_does():
    from realesrgan.inference.precision import cpu_bf16_is_faster

    default = 'bf16' if cpu_bf16_is_faster() else 'fp32'
    # fp16 never runs on a CPU (the library falls back to fp32), and repeats collapse
    assert inference_benchmark.resolve_precisions(['fp32', 'fp16', 'auto']) == list(dict.fromkeys(['fp32', default]))
    assert inference_benchmark.resolve_precisions(['bf16', 'fp32']) == ['bf16', 'fp32']


def test_bad_options_are_refused(capsys):
    with pytest.raises(SystemExit):
        inference_benchmark.parse_args(['--models', 'NoSuchModel'])
    assert 'NoSuchModel' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        inference_benchmark.parse_args(['--repeats', '0'])
    assert '--repeats must be at least 1' in capsys.readouterr().err


def test_missing_weights_stop_the_run_with_a_clear_message(tmp_path, capsys):
    # RealESRNet_x4plus has no packaged ncnn weights: with an empty weights folder and no download, nothing works
    status = inference_benchmark.main(
        [
            '--models',
            'RealESRNet_x4plus',
            '--sizes',
            '16',
            '--skip-original',
            '--skip-ncnn',
            '--weights-dir',
            str(tmp_path),
        ]
    )
    assert status == 2
    assert 'error: No weights found for RealESRNet_x4plus' in capsys.readouterr().out


def test_format_table_aligns_columns():
    text = format_table(('name', 'value'), [['a', '1.50'], ['long name', '12.00x'], ['b', '-']])
    lines = text.splitlines()
    assert lines[0] == 'name       value'
    assert lines[1] == '---------  ------'
    assert lines[2] == 'a            1.50'
    assert lines[3] == 'long name  12.00x'
    assert lines[4] == 'b          -'
    with pytest.raises(ValueError, match='2 columns'):
        format_table(('a', 'b'), [['only one']])


def _measure(model, size, impl, precision, seconds, psnr=None, tiled=False, memory=1000.0, **kwargs):
    compute = precision if impl == 'ours' else 'fp32'
    return Measurement(
        model=model,
        size=size,
        tiled=tiled,
        impl=impl,
        precision=precision,
        times=[seconds],
        peak_rss_mib=memory,
        out_pixels=(4 * size) ** 2,
        gflops=10.0,
        compute=compute,
        psnr=psnr,
        **kwargs,
    )


def _run(
    x4_fp32=6.0,
    x4_bf16=3.0,
    original=10.0,
    original_psnr=70.0,
    bf16_psnr=50.0,
    anime_bf16=0.1,
    ncnn=0.2,
    tiled_memory=1100.0,
):
    x4, anime = 'RealESRGAN_x4plus', 'realesr-animevideov3'
    return [
        _measure(x4, 256, 'ours', 'fp32', x4_fp32, is_reference=True),
        _measure(x4, 256, 'ours', 'bf16', x4_bf16, bf16_psnr),
        _measure(x4, 256, 'original', 'fp32', original, original_psnr),
        _measure(x4, 320, 'ours', 'bf16', 1.6 * x4_bf16, memory=1000.0),
        _measure(x4, 512, 'ours', 'bf16', 4 * x4_bf16, tiled=True, memory=tiled_memory),
        _measure(anime, 256, 'ours', 'bf16', anime_bf16, 52.0),
        _measure(anime, 256, 'ncnn', 'fp32', ncnn * 1.2, 90.0),
        _measure(anime, 256, 'ncnn', 'bf16', ncnn, 55.0),
    ]


def _statuses(measurements):
    return {check.name: check.status for check in report.evaluate_checks(measurements, CPU_KIND_AMX_BF16, 'bf16', 320)}


def test_checks_pass_on_a_good_run():
    statuses = _statuses(_run())
    assert statuses['fp32 output vs original >= 60 dB (all untiled runs)'] == 'PASS'
    assert statuses['fp32 time <= 0.67 x original (RealESRGAN_x4plus, 256 px)'] == 'PASS'  # 0.60
    assert (
        statuses['default precision (bf16) >= 2.5x faster than original fp32 (RealESRGAN_x4plus, 256 px)'] == 'PASS'
    )  # 3.33x
    assert statuses['realesr-animevideov3 256 px: ours (bf16) >= 1.5x faster than ncnn fastest mode'] == 'PASS'
    assert (
        statuses['RealESRGAN_x4plus bf16: tiled 512 px peak memory <= 1.3x untiled at the tile size (320 px)'] == 'PASS'
    )
    # nothing measured the animevideov3 tiled run or our fp32 tiled run: those checks are skipped, not passed
    assert (
        statuses['realesr-animevideov3 bf16: tiled 512 px peak memory <= 1.3x untiled at the tile size (320 px)']
        == 'SKIP'
    )
    assert (
        statuses['RealESRGAN_x4plus fp32: tiled 512 px peak memory <= 1.3x untiled at the tile size (320 px)'] == 'SKIP'
    )


@pytest.mark.parametrize(
    'change, failing',
    [
        (dict(original_psnr=55.0), 'fp32 output vs original >= 60 dB (all untiled runs)'),
        (dict(x4_fp32=7.0), 'fp32 time <= 0.67 x original (RealESRGAN_x4plus, 256 px)'),
        (dict(x4_bf16=4.5), 'default precision (bf16) >= 2.5x faster than original fp32 (RealESRGAN_x4plus, 256 px)'),
        (dict(bf16_psnr=49.0), 'RealESRGAN_x4plus 256 px: ours (bf16) >= 50 dB vs our fp32'),
        (dict(anime_bf16=0.15), 'realesr-animevideov3 256 px: ours (bf16) >= 1.5x faster than ncnn fastest mode'),
        (
            dict(tiled_memory=1400.0),
            'RealESRGAN_x4plus bf16: tiled 512 px peak memory <= 1.3x untiled at the tile size (320 px)',
        ),
    ],
)
def test_each_check_fails_when_its_condition_fails(change, failing):
    statuses = _statuses(_run(**change))
    assert statuses[failing] == 'FAIL'
    assert sum(status == 'FAIL' for status in statuses.values()) == 1


def test_where_fp32_is_the_default_there_is_no_bf16_target():
    """CPUs without AMX or Zen 5 (AVX2 here): the default is fp32, so the checks are fp32's and ncnn's at 1.0x."""
    x4, anime = 'RealESRGAN_x4plus', 'realesr-animevideov3'
    measurements = [
        _measure(x4, 256, 'ours', 'fp32', 6.0, is_reference=True),
        _measure(x4, 256, 'original', 'fp32', 10.0, 70.0),
        _measure(anime, 256, 'ours', 'fp32', 0.25, is_reference=True),
        _measure(anime, 256, 'ncnn', 'fp32', 0.3, 90.0),
    ]
    statuses = {check.name: check.status for check in report.evaluate_checks(measurements, CPU_KIND_AVX2, 'fp32')}
    assert not any('bf16' in name for name in statuses)
    assert statuses['fp32 time <= 0.67 x original (RealESRGAN_x4plus, 256 px)'] == 'PASS'  # 0.60
    assert statuses['realesr-animevideov3 256 px: ours (fp32) >= 1.0x faster than ncnn fastest mode'] == 'PASS'
    slower = measurements[:3] + [_measure(anime, 256, 'ncnn', 'fp32', 0.2, 90.0)]
    statuses = {check.name: check.status for check in report.evaluate_checks(slower, CPU_KIND_AVX2, 'fp32')}
    assert statuses['realesr-animevideov3 256 px: ours (fp32) >= 1.0x faster than ncnn fastest mode'] == 'FAIL'
    line = report.targets_line('AVX-512 with AVX512-BF16, no AMX', 'fp32')
    assert 'AVX-512 with AVX512-BF16, no AMX' in line and 'no bf16 target' in line
    assert '2.5x' in report.targets_line('AMX-BF16', 'bf16')


def test_targets_per_kind_and_the_checks_of_both_models_at_64_and_256_px():
    zen5 = report.targets_for(CPU_KIND_ZEN5_BF16, 'bf16')
    assert zen5.default_min_speedup == 2.5 and zen5.ncnn_min_speedup == {64: 1.0, 256: 1.0}
    assert report.targets_for(CPU_KIND_AMX_BF16, 'bf16').ncnn_min_speedup == {64: 1.0, 256: 1.5}
    # a bf16 kind whose torch has no oneDNN bf16 runs fp32: the fp32 targets hold there
    assert report.targets_for(CPU_KIND_AMX_BF16, 'fp32') == report.FP32_TARGETS
    assert report.targets_for('a kind never seen', 'fp32').default_min_speedup is None
    names = set(_statuses(_run()))
    for model in ('RealESRGAN_x4plus', 'realesr-animevideov3'):
        assert f'{model} 64 px: ours (bf16) >= 1.0x faster than ncnn fastest mode' in names
        assert f'{model} 64 px: ours (bf16) >= 50 dB vs our fp32' in names
        assert f'{model} 256 px: ours (bf16) >= 50 dB vs our fp32' in names
    assert 'RealESRGAN_x4plus 256 px: ours (bf16) >= 1.5x faster than ncnn fastest mode' in names


def test_machine_facts_and_header_name_the_cpu_kind_threads_torch_onednn_and_the_package():
    facts = machine.describe_machine()
    model, kind, count = facts['cpu_model'], facts['cpu_kind'], facts['cpu_count']
    assert machine.cpu_description() == f'{model} (kind: {kind}), {count} CPUs'
    assert set(facts['cpu_flags']) == {'AVX2', 'AVX-512', 'AVX512-BF16', 'AMX-BF16', 'AVX512-FP16'}
    assert facts['torch'] == torch.__version__ and facts['auto_precision'] in ('fp32', 'bf16')
    assert facts['threads'] is None and facts['torch_threads'] == torch.get_num_threads()
    if torch.backends.mkldnn.is_available():
        assert facts['onednn'] and facts['onednn'][0].isdigit()
    lines = machine.header_lines(facts)
    assert lines[0].startswith(f'CPU: {facts["cpu_model"]} (kind: {facts["cpu_kind"]}; AVX2 ')
    assert 'AMX-BF16 yes' in lines[0] or 'AMX-BF16 no' in lines[0]
    assert lines[0].endswith(f'threads: torch default ({torch.get_num_threads()})')
    assert f'torch {torch.__version__}, oneDNN ' in lines[1]
    assert f'auto on this CPU: {facts["auto_precision"]}' in lines[1]
    assert lines[1].endswith(f'realesrgan from {facts["realesrgan"]}') and facts['realesrgan'].endswith('realesrgan')
    assert machine.header_lines(dict(facts, threads=3))[0].endswith('threads: 3')


def test_the_convolution_peak_probe_stops_at_the_shape_that_overran_its_budget():
    peak = conv_peak_worker.precision_peak(torch.float32, budget_s=0.0)
    assert peak['gflops'] > 0 and peak['shape'] == '64 channels, 64 px'
    assert peak['note'].startswith('larger shapes left out: 64 channels at 64 px took')
    assert inference_benchmark.peak_line({}).endswith('no % peak column')
    line = inference_benchmark.peak_line({'fp32': peak, 'bf16': {'gflops': None}})
    assert line.startswith(f'best 3x3 convolution, channels-last: fp32 {peak["gflops"]:.0f} GFLOP/s (64 channels')
    assert line.endswith('; bf16 failed')


def test_checks_skip_without_the_original_and_failed_runs_show_in_the_table():
    measurements = [m for m in _run() if m.impl != 'original']
    statuses = _statuses(measurements)
    assert statuses['fp32 time <= 0.67 x original (RealESRGAN_x4plus, 256 px)'] == 'SKIP'
    measurements.append(Measurement('RealESRGAN_x4plus', 64, False, 'ncnn', 'fp32', error='exit status 1: boom'))
    rows = report.measurement_rows(measurements, {'fp32': 100.0, 'bf16': 200.0})
    assert rows[-1][3] == 'failed'
    # ours bf16 at 256 px: 3 s for 10 GFLOP -> 3.3 GFLOP/s, 1.7 % of the bf16 peak; 1024^2 px out in 3 s
    assert rows[1][3:8] == ['3.000', '0.350', '3.3', '2%', '1000']
    assert rows[0][-1] == 'ref'


def test_json_safe_writes_infinite_psnr_as_text():
    assert inference_benchmark.json_safe({'a': [math.inf, 1.5], 'b': (-math.inf,)}) == {
        'a': ['inf', 1.5],
        'b': ['-inf'],
    }


def test_feed_data_options_keep_the_degradation_settings_of_the_config():
    config = {
        'name': 'x',
        'scale': 4,
        'num_gpu': 'auto',
        'resize_prob': [0.2, 0.7, 0.1],
        'jpeg_range2': [30, 95],
        'queue_size': 180,
        'datasets': {'train': {}},
        'network_g': {'type': 'RRDBNet'},
        'train': {'perceptual_opt': {}},
    }
    opt = training_speed.feed_data_options(config, gt_size=128)
    assert opt['resize_prob'] == [0.2, 0.7, 0.1] and opt['jpeg_range2'] == [30, 95] and opt['queue_size'] == 180
    assert opt['gt_size'] == 128 and opt['num_gpu'] == 0 and opt['is_train'] and 'datasets' not in opt
    assert opt['network_g']['type'] == 'SRVGGNetCompact' and opt['network_g']['upscale'] == 4
    assert 'perceptual_opt' not in opt['train']  # no VGG19 weights needed to time the data synthesis


@pytest.mark.weights
def test_plan_covers_every_configuration(tmp_path):
    args = inference_benchmark.parse_args(
        ['--models', 'realesr-animevideov3', '--sizes', '24', '32t', '--tile', '16', '--ncnn-modes', 'fp32', 'bf16']
    )
    tasks, references = inference_benchmark.plan_inference(args, tmp_path, ['fp32', 'bf16'], ['/original/python', '-I'])
    planned = [
        (t.measurement.size, t.measurement.tiled, t.measurement.impl, t.measurement.precision, t.worker) for t in tasks
    ]
    assert planned == [
        (24, False, 'ours', 'fp32', 'ours_worker'),
        (24, False, 'ours', 'bf16', 'ours_worker'),
        (24, False, 'original', 'fp32', 'original_worker'),
        (24, False, 'ncnn', 'fp32', 'ncnn_worker'),
        (24, False, 'ncnn', 'bf16', 'ncnn_worker'),
        (32, False, 'ours', 'fp32', 'ours_worker'),  # the reference of the tiled size, timed once
        (32, True, 'ours', 'fp32', 'ours_worker'),
        (32, True, 'ours', 'bf16', 'ours_worker'),
        (32, True, 'original', 'fp32', 'original_worker'),
    ]
    assert [t.job['repeats'] for t in tasks] == [3] * 5 + [1] + [3] * 3
    assert [t.every_round for t in tasks] == [True] * 5 + [False] + [True] * 3  # --rounds: the reference runs once
    assert [t.job['tile'] for t in tasks if 'tile' in t.job] == [0, 0, 0, 0, 16, 16, 16]
    assert references == {
        ('realesr-animevideov3', 24): tasks[0].job['output'],
        ('realesr-animevideov3', 32): tasks[5].job['output'],
    }
    assert tasks[2].python == ['/original/python', '-I']
    image = np.load(tasks[0].job['input'])
    assert image.shape == (24, 24, 3) and image.dtype == np.uint8 and image.std() > 10  # a real photograph
    # realesr-animevideov3: 16 3x3 convs of 64 channels between the input and output convs, at input resolution
    expected_flops = 2 * 9 * (3 * 64 + 16 * 64 * 64 + 64 * 48) * 24 * 24 / 1e9
    assert tasks[0].measurement.gflops == pytest.approx(expected_flops)


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.weights
def test_tiny_run_of_our_side(tmp_path):
    """The whole harness on a tiny image: subprocess workers, reference, PSNR, table, checks and JSON."""
    out = tmp_path / 'bench.json'
    status = inference_benchmark.main(
        [
            '--models',
            'realesr-animevideov3',
            '--sizes',
            '24',
            '--repeats',
            '1',
            '--rounds',
            '2',
            '--threads',
            '1',
            '--skip-original',
            '--skip-ncnn',
            '--peak-budget',
            '1',
            '--json',
            str(out),
        ]
    )
    result = json.loads(out.read_text())
    assert status == 0  # every check that needs more than this run is skipped, none failed
    assert {check['status'] for check in result['checks']} == {'SKIP'}
    default = result['default_precision']
    rows = {m['precision']: m for m in result['measurements']}
    assert set(rows) == {'fp32', default}
    for item in rows.values():
        assert item['error'] is None and len(item['times']) == 2 and item['peak_rss_mib'] > 50  # 2 rounds x 1
        assert item['threads'] == 1
        assert item['size'] == 24 and not item['tiled']
    assert rows['fp32']['is_reference'] and rows['fp32']['psnr'] is None
    if default != 'fp32':
        assert 30 < rows[default]['psnr'] < 200
    assert result['conv_peaks']['fp32']['gflops'] > 0
    assert result['input'] == inference_benchmark.BENCHMARK_PHOTO


def test_an_emulated_run_leaves_the_wheels_ncnn_out_unless_a_build_is_given(capsys):
    emulated = inference_benchmark.parse_args(['--emulate-kind', 'avx2'])
    assert emulated.skip_ncnn and 'build_ncnn.py --kind avx2' in capsys.readouterr().out
    line = inference_benchmark.emulation_lines(emulated)
    assert line == [
        'emulated kind: avx2 (ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2); '
        'ncnn: left out'
    ]
    built = inference_benchmark.parse_args(['--emulate-kind', 'avx2', '--ncnn-build', '/ncnn/python'])
    assert not built.skip_ncnn and inference_benchmark.emulation_lines(built)[0].endswith('ncnn: /ncnn/python')
    assert inference_benchmark.emulation_lines(inference_benchmark.parse_args([])) == []
