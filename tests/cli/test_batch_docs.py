"""README.md and README_KR.md show every batch flag of the image command line in an example."""

import re

import pytest
from helpers import REPO_ROOT

from realesrgan.cli import image as cli

BATCH_FLAGS = (
    '--ext',
    '--quality',
    '--strip_metadata',
    '--recursive',
    '--skip_existing',
    '--alpha_bleed',
    '--num_process_per_gpu',
    '--device',
)


@pytest.mark.parametrize('readme', ['README.md', 'README_KR.md'])
def test_every_batch_flag_has_an_example(readme):
    text = (REPO_ROOT / readme).read_text(encoding='utf-8')
    examples = re.findall(r'`(python inference_realesrgan\.py [^`]*)`', text)
    known = {option for action in cli.build_parser()._actions for option in action.option_strings}
    for flag in BATCH_FLAGS:
        assert flag in known
        assert any(re.search(rf'{flag}(\s|$)', example) for example in examples), f'{readme}: no example of {flag}'
