"""The degradation pipeline, the two training models and train.py: every test here runs with one torch thread.

test_models.py and test_train.py are being edited on another branch: their markers are listed here.
"""
from pathlib import Path

import pytest
from helpers import mark_by_name

MARKS = {
    'test_train.py': {
        'test_train_script_trains_validates_checkpoints_and_resumes': ('slow', 'subprocess'),
        'test_two_cpu_processes_train_in_step': ('slow', 'subprocess'),
    },
}


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread: None) -> None:
    """Applies ``one_torch_thread`` of tests/conftest.py to each test of this folder."""


def pytest_collection_modifyitems(items):
    mark_by_name(items, Path(__file__).parent, MARKS)
