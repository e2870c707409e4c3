"""The RealESRGANer quality benchmarks run and print their tables (small model, small image)."""

import importlib.util
import re
import sys

import pytest
from helpers import REPO_ROOT, official_weights

pytestmark = pytest.mark.weights


def load_benchmark(name: str):
    sys.path.insert(0, str(REPO_ROOT / 'benchmarks'))  # the scripts import their sibling helpers
    try:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / 'benchmarks' / f'{name}.py')
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO_ROOT / 'benchmarks'))
    return module


def table_rows(text: str) -> dict:
    return {line.split('  ')[0].strip(): line for line in text.splitlines() if re.match(r'^\w.*\d+\.\d\d\s*$', line)}


def test_tiling_quality_prints_psnr_and_time_ratio(capsys):
    official_weights('realesr-animevideov3')
    load_benchmark('tiling_quality').main(
        ['--model', 'realesr-animevideov3', '--size', '80', '--tile', '16', '--blends', '22', '0', '--device', 'cpu']
    )
    rows = table_rows(capsys.readouterr().out)
    assert set(rows) == {'untiled', 'blend 22', 'blend 0'}
    blended = re.search(r'(\d+)\s+(\d+)\s+(\d+x\d+)\s+([\d.]+)x\s+([\d.inf]+) dB', rows['blend 22']).groups()
    assert blended[0] == '32' and blended[2] == '80x80'  # seam context 10 + 22; windows 16 + 64 (whole image)
    plain = re.search(r'(\d+)\s+(\d+)\s+(\d+x\d+)\s+([\d.]+)x\s+([\d.]+) dB', rows['blend 0']).groups()
    assert plain[:3] == ('10', '16', '36x36') and abs(float(plain[3]) - 16 * 36 * 36 / 80**2) < 0.01
    assert float(plain[4]) > 45  # the compact model needs little context


def test_precision_quality_prints_psnr_against_fp32(capsys):
    official_weights('realesr-animevideov3')
    load_benchmark('precision_quality').main(
        [
            '--model',
            'realesr-animevideov3',
            '--size',
            '48',
            '--precisions',
            'bf16',
            'fp16',
            '--repeats',
            '1',
            '--device',
            'cpu',
            '--ncnn',
        ]
    )
    rows = table_rows(capsys.readouterr().out)
    # fp16 falls back to fp32 on a CPU: not listed
    assert set(rows) == {'fp32', 'fp32 contiguous', 'bf16', 'ncnn runtime fp32'}
    assert float(re.search(r'([\d.]+) dB', rows['fp32 contiguous']).group(1)) > 60
    assert float(re.search(r'([\d.]+) dB', rows['ncnn runtime fp32']).group(1)) > 60
    assert float(re.search(r'([\d.]+) dB', rows['bf16']).group(1)) > 45
