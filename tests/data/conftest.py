"""The two datasets. Their test files are being edited on another branch: their markers are listed here."""
from pathlib import Path

from helpers import mark_by_name

MARKS = {
    'test_realesrgan_dataset.py': {
        'test_dataloader_workers_open_their_own_lmdb': ('subprocess', ),
    },
}


def pytest_collection_modifyitems(items):
    mark_by_name(items, Path(__file__).parent, MARKS)
