"""The architectures against the official checkpoints: state-dict keys, shapes and sizes, registered names."""

import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from basicsr.archs.rrdbnet_arch import RRDBNet
from basicsr.utils.registry import ARCH_REGISTRY

from realesrgan.archs.discriminator_arch import UNetDiscriminatorSN
from realesrgan.archs.srvgg_arch import SRVGGNetCompact

KEYS_FILE = Path(__file__).resolve().parent / 'checkpoint_keys.txt'


def official_layouts() -> Dict[str, Tuple[List[Tuple[str, List[int]]], int, int]]:
    """Parse checkpoint_keys.txt: section title -> ([(key, shape)], tensor count, number count)."""
    sections: Dict[str, Tuple[List[Tuple[str, List[int]]], int, int]] = {}
    title, entries = None, []
    for line in KEYS_FILE.read_text().splitlines():
        if line.startswith('## '):
            title, entries = line[3:].split('(')[0].strip(), []
        elif match := re.match(r'# (\d+) tensors, (\d+) numbers', line):
            sections[title] = (entries, int(match.group(1)), int(match.group(2)))
        elif title and re.match(r'^[\w.]+ \[', line):
            key, shape = line.split(' ', 1)
            entries.append((key, [int(v) for v in shape.strip('[]').split(',')]))
    return sections


LAYOUTS = official_layouts()


@pytest.mark.parametrize(
    'title, build',
    [
        ('UNetDiscriminatorSN', lambda: UNetDiscriminatorSN(num_in_ch=3, num_feat=64, skip_connection=True)),
        ('SRVGGNetCompact', lambda: SRVGGNetCompact(3, 3, num_feat=64, num_conv=16, upscale=4, act_type='prelu')),
        ('RRDBNet', lambda: RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=2)),
    ],
)
def test_state_dict_matches_official_checkpoint(title, build):
    entries, num_tensors, num_numbers = LAYOUTS[title]
    state_dict = build().state_dict()
    for key, shape in entries:
        assert key in state_dict, f'{title}: missing official key {key}'
        assert list(state_dict[key].shape) == shape, f'{title}: {key} has {list(state_dict[key].shape)}, not {shape}'
    assert len(state_dict) == num_tensors
    assert sum(t.numel() for t in state_dict.values()) == num_numbers
    if title != 'RRDBNet':  # the file lists every key of these two
        assert list(state_dict) == [key for key, _ in entries]


def test_official_layout_file_was_parsed():
    assert set(LAYOUTS) == {'UNetDiscriminatorSN', 'SRVGGNetCompact', 'RRDBNet'}
    assert len(LAYOUTS['SRVGGNetCompact'][0]) == 53 and len(LAYOUTS['UNetDiscriminatorSN'][0]) == 28


def test_both_architectures_are_registered_under_their_plain_names():
    assert ARCH_REGISTRY.get('SRVGGNetCompact') is SRVGGNetCompact
    assert ARCH_REGISTRY.get('UNetDiscriminatorSN') is UNetDiscriminatorSN
