"""Registry discovery: a file dropped in archs/, data/ or models/ registers its classes in BasicSR's registries."""

import textwrap
import uuid

import pytest
from helpers import REPO_ROOT, run_python

pytestmark = pytest.mark.subprocess


@pytest.mark.parametrize(
    'folder, suffix, registry',
    [
        ('archs', '_arch', 'ARCH_REGISTRY'),
        ('data', '_dataset', 'DATASET_REGISTRY'),
        ('models', '_model', 'MODEL_REGISTRY'),
    ],
)
def test_a_file_dropped_in_a_subpackage_registers_itself(folder, suffix, registry):
    class_name = f'DroppedIn{uuid.uuid4().hex[:8]}'
    module_file = REPO_ROOT / 'realesrgan' / folder / f'zz_temporary{suffix}.py'
    module_file.write_text(
        textwrap.dedent(f"""
        from basicsr.utils.registry import {registry}


        @{registry}.register()
        class {class_name}:
            pass
    """)
    )
    try:
        result = run_python(f"""
            import realesrgan
            from basicsr.utils.registry import {registry}
            print({registry}.get('{class_name}').__module__)
        """)
    finally:
        module_file.unlink()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f'realesrgan.{folder}.zz_temporary{suffix}'
