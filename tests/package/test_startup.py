"""Start-up: ``import realesrgan`` and the command lines' quick answers load neither torch nor BasicSR, and the
plugins still reach BasicSR's registries (issue 19). Each case runs in a fresh interpreter."""

import json

import pytest
from helpers import run_python

pytestmark = pytest.mark.subprocess

# prints the exit status, the last line of stderr and which heavy modules were imported, as JSON
_CLI_CASE = """
    import contextlib, io, json, sys
    from realesrgan.cli.{module} import main
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            status = main({argv!r})
        except SystemExit as exit_:
            status = exit_.code
    heavy = sorted(name for name in ('torch', 'basicsr', 'torchvision') if name in sys.modules)
    lines = err.getvalue().strip().splitlines() or ['']
    print(json.dumps({{'status': status, 'stderr': lines[-1], 'stdout': out.getvalue(), 'heavy': heavy}}))
"""


def _run_cli(module: str, argv: list) -> dict:
    result = run_python(_CLI_CASE.format(module=module, argv=argv))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_realesrgan_loads_neither_torch_nor_basicsr():
    result = run_python("""
        import sys
        import realesrgan
        print(realesrgan.__version__, sorted(n for n in ('torch', 'basicsr', 'cv2') if n in sys.modules))
    """)
    assert result.returncode == 0, result.stderr
    version, heavy = result.stdout.split(' ', 1)
    assert version == '0.4.0'
    assert heavy.strip() == '[]'


def test_exports_load_on_first_use_and_are_the_defining_modules_objects():
    result = run_python("""
        import sys
        import realesrgan
        from realesrgan import zoo
        print('torch' in sys.modules, 'RealESRGAN_x4plus' in zoo.MODEL_ZOO, 'torch' in sys.modules)
        from realesrgan import RealESRGANer, utils
        print(RealESRGANer is utils.RealESRGANer, 'torch' in sys.modules, realesrgan.zoo.detect.__name__)
        print('RealESRGANer' in dir(realesrgan), 'detect' in dir(realesrgan.zoo), hasattr(realesrgan, 'no_such_name'))
    """)
    assert result.returncode == 0, result.stderr
    # the model table is read without torch; RealESRGANer brings it; submodules are attributes
    assert result.stdout.split() == 'False True False True True realesrgan.zoo.detect True True False'.split()


def test_star_import_gives_the_originals_names():
    result = run_python("""
        from realesrgan import *
        print(RealESRGANer.__module__, IOConsumer.__module__, PrefetchReader.__module__, __version__)
        print(len(arch_modules), len(dataset_modules), len(model_modules))
    """)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == 'realesrgan.utils realesrgan.utils realesrgan.utils 0.4.0'
    assert [int(count) for count in second.split()] == [2, 2, 2]


def test_basicsr_builds_our_network_after_a_plain_import_realesrgan():
    result = run_python("""
        import realesrgan
        from basicsr.archs import build_network
        net = build_network({'type': 'SRVGGNetCompact', 'num_feat': 4, 'num_conv': 1, 'upscale': 2})
        print(type(net).__module__, type(net).__name__, sum(p.numel() for p in net.parameters()))
    """)
    assert result.returncode == 0, result.stderr
    module, name, count = result.stdout.split()
    assert (module, name) == ('realesrgan.archs.srvgg_arch', 'SRVGGNetCompact')
    # conv 3->4 (3x3), PReLU(4), conv 4->4, PReLU(4), conv 4->3*2*2: weights and biases
    assert int(count) == (3 * 4 * 9 + 4) + 4 + (4 * 4 * 9 + 4) + 4 + (4 * 12 * 9 + 12)


def test_registries_are_complete_when_basicsr_is_first_imported_from_inside_a_plugin_module():
    """The first BasicSR import comes from a half-imported plugin module: registration must wait for the lookups."""
    result = run_python("""
        import importlib.util
        assert importlib.util.find_spec('basicsr') is not None  # looking basicsr up must not disarm the hook
        from realesrgan.archs.srvgg_arch import SRVGGNetCompact
        from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY
        print(ARCH_REGISTRY.get('SRVGGNetCompact') is SRVGGNetCompact)
        print(MODEL_REGISTRY.get('RealESRGANModel').__module__, 'RealESRGANPairedDataset' in DATASET_REGISTRY)
        print('calculate_lpips' in METRIC_REGISTRY)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['True', 'realesrgan.models.realesrgan_model', 'True', 'True']


@pytest.mark.parametrize(
    'argv, status, message',
    [
        (['--help'], 0, ''),
        (['--no-such-flag'], 2, 'unrecognized arguments: --no-such-flag'),
        (['--tile', '-3'], 2, 'error: --tile must be a non-negative integer, got -3.'),
        (['--precision', 'fp8'], 2, "error: --precision: Unknown precision 'fp8'; choose one of auto, fp32"),
        (['-i', 'no/such/folder'], 2, 'error: Input "no/such/folder" does not exist'),
        (
            ['-n', 'realesr-animevideo3'],
            2,
            "Unknown model name 'realesr-animevideo3' (did you mean realesr-animevideov3?)",
        ),
    ],
)
def test_image_cli_answers_help_and_input_errors_without_loading_torch(argv, status, message):
    answer = _run_cli('image', argv)
    assert answer['status'] == status
    assert message in answer['stderr']
    assert answer['heavy'] == []
    if argv == ['--help']:
        assert '--model_name' in answer['stdout'] and 'RealESRGAN_x4plus' in answer['stdout']


@pytest.mark.parametrize(
    'module, program', [('image', 'inference_realesrgan.py'), ('video', 'inference_realesrgan_video.py')]
)
def test_both_command_lines_tell_their_version_without_loading_torch(module, program):
    result = run_python(f"""
        import sys
        sys.argv = [{program!r}, '--version']
        from realesrgan.cli.{module} import main
        try:
            main()
        except SystemExit as exit_:
            print('status', exit_.code, sorted(name for name in ('torch', 'basicsr') if name in sys.modules))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f'{program} (realesrgan) 0.4.0', 'status 0 []']


def test_training_without_its_options_file_answers_without_loading_torch(tmp_path):
    result = run_python(f"""
        import sys
        sys.argv = ['train.py', '-opt', {str(tmp_path / 'missing.yml')!r}]
        import realesrgan.train
        status = realesrgan.train.main()
        print('status', status, sorted(name for name in ('torch', 'basicsr') if name in sys.modules))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['status 2 []']
    assert 'missing.yml" does not exist' in result.stderr


def test_skip_existing_with_nothing_left_to_do_answers_without_loading_torch(tmp_path):
    (tmp_path / 'in').mkdir()
    (tmp_path / 'out').mkdir()
    write_png(tmp_path / 'in' / 'a.png', 8)
    write_png(tmp_path / 'out' / 'a_out.png', 32)
    answer = _run_cli('image', ['-i', str(tmp_path / 'in'), '-o', str(tmp_path / 'out'), '--skip_existing'])
    assert answer['status'] == 0
    assert '1 image(s) skipped: their output exists (--skip_existing).' in answer['stdout']
    assert answer['heavy'] == []


def write_png(path, size: int) -> None:
    import cv2
    import numpy as np

    cv2.imwrite(str(path), np.full((size, size, 3), 128, np.uint8))


def test_image_cli_reports_an_empty_folder_without_loading_torch(tmp_path):
    answer = _run_cli('image', ['-i', str(tmp_path), '-o', str(tmp_path / 'out')])
    assert answer['status'] == 2
    assert 'holds no files' in answer['stderr']
    assert answer['heavy'] == []


@pytest.mark.parametrize('argv, status', [(['--help'], 0), (['--no-such-flag'], 2)])
def test_video_cli_answers_help_and_flag_errors_without_loading_torch(argv, status):
    answer = _run_cli('video', argv)
    assert answer['status'] == status
    assert answer['heavy'] == []
