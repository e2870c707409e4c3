"""Outputs at a URI (``-o file://...``, ``-o memory://...`` through fsspec): the same files as in a folder."""

import pytest
from conftest import NUM_IMAGES, image_args

from realesrgan.batch.job import ImageJob, ImageJobError
from realesrgan.batch.run import run_image_job
from realesrgan.cli.image import build_parser
from realesrgan.execution.remote_files import is_remote, local_path

fsspec = pytest.importorskip('fsspec')

pytestmark = [pytest.mark.cluster, pytest.mark.weights, pytest.mark.slow]


def job_for(folder, output, *extra) -> ImageJob:
    return ImageJob.from_args(build_parser().parse_args(image_args(folder, output, *extra)[1:]))


def test_uri_kinds():
    assert local_path('file:///data/my%20out') == '/data/my out' and not is_remote('file:///data')
    assert is_remote('s3://bucket/out') and is_remote('memory://x') and not is_remote('/data/out')
    assert local_path('s3://bucket/out') == 's3://bucket/out'


def test_file_uri_is_the_folder(inputs, reference, tmp_path):
    summary = run_image_job(job_for(inputs[0], f'file://{tmp_path}/out'), log=lambda line: None, progress=False)
    assert summary.ok and len(summary.written) == NUM_IMAGES
    for path in (tmp_path / 'out').iterdir():
        assert path.read_bytes() == (reference[0] / path.name).read_bytes(), path.name


def test_an_fsspec_uri_gets_every_output_uploaded_whole_and_skip_existing_asks_it(inputs, reference):
    memory = fsspec.filesystem('memory')
    target = 'memory://cluster-test/out'
    summary = run_image_job(job_for(inputs[0], target), log=lambda line: None, progress=False)
    assert summary.ok and len(summary.written) == NUM_IMAGES
    for path in reference[0].iterdir():
        assert memory.cat_file(f'/cluster-test/out/{path.name}') == path.read_bytes(), path.name
    assert len(memory.ls('/cluster-test/out')) == NUM_IMAGES  # no temporary file left there

    memory.rm('/cluster-test/out/crop03_out.png')
    again = run_image_job(job_for(inputs[0], target, '--skip_existing'), log=lambda line: None, progress=False)
    assert again.written == [f'{target}/crop03_out.png'] and len(again.existing) == NUM_IMAGES - 1
    assert memory.cat_file('/cluster-test/out/crop03_out.png') == (reference[0] / 'crop03_out.png').read_bytes()
    memory.rm('/cluster-test', recursive=True)


def test_an_unknown_scheme_is_refused_before_any_work(inputs):
    with pytest.raises(ImageJobError, match=r'^Cannot write to nosuchfs://x/out \(no installed filesystem'):
        run_image_job(job_for(inputs[0], 'nosuchfs://x/out'), log=lambda line: None, progress=False)
