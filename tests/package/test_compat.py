"""The compatibility layer that makes BasicSR work on current torch, and the entry points that go through it."""

import collections
import importlib.util
import subprocess
import sys

import pytest
import torch
from helpers import REPO_ROOT, run_python

from realesrgan import compat


@pytest.mark.subprocess
def test_fresh_interpreter_imports_basicsr_after_realesrgan():
    result = run_python("""
        import realesrgan
        import basicsr
        from basicsr.data.degradations import rgb_to_grayscale
        from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, MODEL_REGISTRY
        print(sorted(k for k in ARCH_REGISTRY.keys() if not k.endswith('_basicsr')))
        print(sorted(DATASET_REGISTRY.keys()))
        print(sorted(MODEL_REGISTRY.keys()))
    """)
    assert result.returncode == 0, result.stderr
    archs, datasets, models = result.stdout.splitlines()
    assert {'SRVGGNetCompact', 'UNetDiscriminatorSN', 'RRDBNet'} <= set(eval(archs))
    assert {'RealESRGANDataset', 'RealESRGANPairedDataset'} <= set(eval(datasets))
    assert {'RealESRGANModel', 'RealESRNetModel'} <= set(eval(models))
    # BasicSR's own copies keep their suffixed names, ours the plain ones
    assert 'RealESRGANModel_basicsr' in eval(models)


@pytest.mark.subprocess
def test_plain_basicsr_import_fails_without_the_compat_layer_on_this_torchvision():
    """Documents why the compat layer exists: the alias module is what makes BasicSR importable here."""
    result = run_python('import basicsr')
    if result.returncode == 0:
        pytest.skip('this torchvision still ships functional_tensor; the alias is not needed here')
    assert 'functional_tensor' in result.stderr


def test_functional_tensor_alias_gives_torchvision_rgb_to_grayscale():
    from torchvision.transforms import functional as tv_functional
    from torchvision.transforms.functional_tensor import rgb_to_grayscale

    img = torch.rand(2, 3, 5, 4)
    assert torch.equal(rgb_to_grayscale(img), tv_functional.rgb_to_grayscale(img))


def test_filter2d_accepts_the_non_contiguous_output_of_diffjpeg():
    from basicsr.utils.diffjpeg import DiffJPEG
    from basicsr.utils.img_process_util import filter2D

    torch.manual_seed(0)
    img = torch.rand(2, 3, 32, 32)
    jpeg = DiffJPEG(differentiable=False)(img, quality=torch.tensor([30.0, 60.0]))
    kernel = torch.rand(2, 21, 21)
    kernel /= kernel.sum(dim=(1, 2), keepdim=True)
    blurred = filter2D(jpeg, kernel)
    assert torch.allclose(blurred, filter2D(jpeg.contiguous().clone(), kernel))
    # a real blur: the mean is kept, the variance drops
    assert torch.allclose(blurred.mean(), jpeg.mean(), atol=2e-2)
    assert blurred.var() < jpeg.var()


def test_filter2d_on_a_non_contiguous_view_equals_the_contiguous_result():
    from basicsr.utils.img_process_util import filter2D

    img = torch.rand(1, 32, 32, 3).permute(0, 3, 1, 2)  # channels-last view, not contiguous
    assert not img.is_contiguous()
    kernel = torch.ones(1, 3, 3) / 9
    assert torch.allclose(filter2D(img, kernel), filter2D(img.contiguous(), kernel))


def test_training_states_with_counter_load_on_current_torch(tmp_path):
    net = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(net.parameters())
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[5, 10], gamma=0.5)
    net(torch.rand(1, 2)).sum().backward()
    optimizer.step()
    scheduler.step()
    path = tmp_path / '1.state'
    torch.save(
        {'epoch': 0, 'iter': 1, 'optimizers': [optimizer.state_dict()], 'schedulers': [scheduler.state_dict()]}, path
    )
    state = compat.load_training_state(str(path))
    assert state['iter'] == 1
    assert state['schedulers'][0]['milestones'] == collections.Counter({5: 1, 10: 1})
    assert torch.equal(state['optimizers'][0]['state'][0]['exp_avg'], optimizer.state_dict()['state'][0]['exp_avg'])


def test_loose_version_stand_in_orders_versions_numerically():
    loose = compat._LooseVersion
    assert loose('0.29.2+cu130') >= loose('0.9.0')
    assert loose('1.10') > loose('1.9')
    assert loose('2.0') == '2.0'
    assert not loose('0.8.1') >= loose('0.9.0')


def test_a_distutils_stand_in_is_served_only_where_no_real_one_is_found(monkeypatch):
    finder = compat._CompatFinder()
    real = finder.find_spec('distutils', None)
    if real is not None:  # Python < 3.12, or setuptools' shim: the real module is used
        assert not isinstance(real.loader, compat._StandInLoader)
    monkeypatch.setattr(compat._CompatFinder, '_find_elsewhere', lambda self, name, path, target: None)
    spec = finder.find_spec('distutils.version', None)
    assert isinstance(spec.loader, compat._StandInLoader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.LooseVersion('0.29.2') >= module.LooseVersion('0.9.0')
    assert finder.find_spec('distutils', None).submodule_search_locations == []
    assert finder.find_spec('numpy', None) is None  # other names are left to the other finders


def test_apply_is_idempotent():
    from basicsr.utils import img_process_util

    wrapped = img_process_util.filter2D
    compat.apply()
    compat.apply()
    assert img_process_util.filter2D is wrapped
    assert not hasattr(wrapped.__wrapped__, '__wrapped__')


@pytest.mark.subprocess
def test_train_script_reaches_basicsr_argument_parser():
    result = subprocess.run(
        [sys.executable, 'realesrgan/train.py', '--help'], cwd=REPO_ROOT, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr
    # BasicSR's parse_options defines these flags
    for flag in ('-opt', '--launcher', '--auto_resume', '--force_yml'):
        assert flag in result.stdout
