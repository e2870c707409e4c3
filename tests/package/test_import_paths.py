"""The original's public import paths still work after the redesign: each class is defined where users import it."""

import importlib

import pytest

import realesrgan

ORIGINAL_PATHS = [
    ('realesrgan.utils', 'RealESRGANer'),
    ('realesrgan.utils', 'PrefetchReader'),
    ('realesrgan.utils', 'IOConsumer'),
    ('realesrgan.archs.srvgg_arch', 'SRVGGNetCompact'),
    ('realesrgan.archs.discriminator_arch', 'UNetDiscriminatorSN'),
    ('realesrgan.data.realesrgan_dataset', 'RealESRGANDataset'),
    ('realesrgan.data.realesrgan_paired_dataset', 'RealESRGANPairedDataset'),
    ('realesrgan.models.realesrgan_model', 'RealESRGANModel'),
    ('realesrgan.models.realesrnet_model', 'RealESRNetModel'),
]


@pytest.mark.parametrize('module, name', ORIGINAL_PATHS)
def test_each_class_is_defined_at_its_original_path(module, name):
    assert getattr(importlib.import_module(module), name).__module__ == module


def test_the_package_exports_what_the_original_exports_from_utils():
    for name in ('RealESRGANer', 'PrefetchReader', 'IOConsumer'):
        assert getattr(realesrgan, name) is getattr(importlib.import_module('realesrgan.utils'), name)


def test_the_plugin_classes_are_in_basicsrs_registries_under_their_plain_names():
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, MODEL_REGISTRY

    classes = {name: getattr(importlib.import_module(module), name) for module, name in ORIGINAL_PATHS}
    for registry, names in (
        (ARCH_REGISTRY, ('SRVGGNetCompact', 'UNetDiscriminatorSN')),
        (DATASET_REGISTRY, ('RealESRGANDataset', 'RealESRGANPairedDataset')),
        (MODEL_REGISTRY, ('RealESRGANModel', 'RealESRNetModel')),
    ):
        for name in names:
            assert registry.get(name) is classes[name]
