"""The RealESRGANer quality benchmarks run and print their tables (small model, small image)."""

import re

import precision_quality
import pytest
import tiling_quality
from helpers import official_weights

pytestmark = pytest.mark.weights


def table_rows(text: str) -> dict:
    return {line.split('  ')[0].strip(): line for line in text.splitlines() if re.match(r'^\w.*\d+\.\d\d\s*$', line)}


def test_tiling_quality_prints_psnr_and_time_ratio(capsys):
    official_weights('realesr-animevideov3')
    tiling_quality.main(
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
    precision_quality.main(
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


def test_precision_quality_times_the_bare_network_in_each_layout(capsys):
    precision_quality.main(['--bare-network', '--model', 'realesr-animevideov3', '--size', '16', '--repeats', '1'])
    printed = capsys.readouterr().out
    rows = re.findall(r'^(\w[\w -]+?)\s+([\d.]+) s\s+([\d.]+)x contiguous fp32$', printed, re.MULTILINE)
    assert [name for name, _, _ in rows] == [
        'contiguous fp32',
        'channels-last fp32',
        'channels-last bf16 autocast',
        'channels-last bf16 weights',
    ]
    assert rows[0][2] == '1.00' and printed.startswith('CPU: ')


def test_tiling_quality_of_a_community_architecture(capsys):
    pytest.importorskip('spandrel')
    tiling_quality.main(['--community', 'SPAN', '--tile', '32', '--tile_pad', '10', '--threads', '1'])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    found = re.fullmatch(r'SPAN: x(\d), tiled vs untiled ([\d.]+|inf) dB \(--tile 32 --tile_pad 10\)', line)
    assert found and float(found.group(2)) > 30, line
