"""Adding an architecture family end to end: one network class, one table entry, one call of the generic check.

The three pieces below stand for the three edits a new family needs in the package: the class would live in
``realesrgan/archs/<name>_arch.py`` (under ``@ARCH_REGISTRY.register()`` for training configs), the entry in
``FAMILIES`` of ``realesrgan/zoo/families.py``, and the test is the call of ``assert_family_loads_correctly``.
Detection, ``RealESRGANer``, the size rules and the training scale check then work without any other edit.
"""

import pytest
import torch
from helpers import assert_family_loads_correctly
from torch import nn

from realesrgan.zoo.checkpoint import StateDict
from realesrgan.zoo.families import FAMILIES, ArchFamily, ArchInfo


class TinyShuffleNet(nn.Module):
    """Two convolutions and a pixel shuffle: the smallest network that upscales."""

    def __init__(self, num_in_ch: int = 3, num_feat: int = 8, upscale: int = 2) -> None:
        super().__init__()
        self.tiny_head = nn.Conv2d(num_in_ch, num_feat, 3, padding=1)
        self.tiny_tail = nn.Conv2d(num_feat, num_in_ch * upscale * upscale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.tiny_tail(torch.relu(self.tiny_head(x))))


def read_tiny(state_dict: StateDict, default_act_type: str) -> ArchInfo:
    num_feat, num_in_ch = state_dict['tiny_head.weight'].shape[:2]
    upscale = int((state_dict['tiny_tail.weight'].shape[0] // num_in_ch) ** 0.5)
    return ArchInfo('TinyShuffleNet', dict(num_in_ch=num_in_ch, num_feat=num_feat, upscale=upscale), upscale)


TINY = ArchFamily(
    'TinyShuffleNet', TinyShuffleNet, 'params', 'tiny_head.weight', read_tiny, lambda kwargs: 1, scale_arg='upscale'
)


@pytest.mark.parametrize('upscale', [2, 3])
def test_a_new_family_is_one_class_one_entry_and_one_check(monkeypatch, tmp_path, upscale):
    monkeypatch.setitem(FAMILIES, TINY.name, TINY)
    assert_family_loads_correctly(
        ArchInfo(TINY.name, dict(num_in_ch=3, num_feat=8, upscale=upscale), upscale), tmp_path
    )


def test_without_its_entry_the_new_family_is_not_detected(tmp_path):
    """The check fails without the table entry: the entry is what makes the family known."""
    with pytest.raises(Exception, match='TinyShuffleNet|not one of our architectures|neither'):
        assert_family_loads_correctly(ArchInfo(TINY.name, dict(num_in_ch=3, num_feat=8, upscale=2), 2), tmp_path)
