"""Where Ray workers go (no Ray needed), and that nothing imports Ray unless a job asks for it."""

import json
import socket

import pytest
from helpers import WEIGHTS_DIR, official_weights, run_python

from realesrgan.execution.ray_executor import ActorSlot, plan_actors

pytestmark = pytest.mark.cluster


def node(node_id: str, cpus: float, gpus: float = 0, alive: bool = True) -> dict:
    resources = {'CPU': cpus, 'memory': 1e9, **({'GPU': gpus} if gpus else {})}
    return {'NodeID': node_id, 'Alive': alive, 'Resources': resources}


def test_cpu_nodes_get_the_asked_workers_each_sharing_the_node_cpus():
    nodes = [node('a', 8), node('b', 2), node('dead', 64, alive=False)]
    assert plan_actors(nodes, 'auto', 1) == [ActorSlot('cpu', 8, 0, 'a'), ActorSlot('cpu', 2, 0, 'b')]
    assert plan_actors(nodes, 'cpu', 2) == [ActorSlot('cpu', 4, 0, 'a')] * 2 + [ActorSlot('cpu', 1, 0, 'b')] * 2
    # never more workers on a node than it has CPUs
    assert plan_actors([node('a', 2)], 'cpu', 3) == [ActorSlot('cpu', 1, 0, 'a')] * 2


def test_gpus_of_every_node_get_num_process_per_gpu_workers_each_with_that_share():
    nodes = [node('a', 16, gpus=2), node('b', 16, gpus=1), node('c', 32)]
    assert plan_actors(nodes, 'auto', 2) == [ActorSlot('cuda', 0, 0.5, None)] * 6
    assert plan_actors(nodes, 'cuda', 1) == [ActorSlot('cuda', 0, 1.0, None)] * 3
    assert plan_actors(nodes, 'cpu', 1) == [ActorSlot('cpu', 16, 0, 'a'), ActorSlot('cpu', 16, 0, 'b'),
                                            ActorSlot('cpu', 32, 0, 'c')]  # fmt: skip


@pytest.mark.parametrize(
    ('nodes', 'device', 'count', 'message'),
    [
        ([node('a', 4)], 'cuda', 1, 'the Ray cluster has no GPU'),
        ([node('a', 4)], 'cuda:1', 1, 'with --ray, --device is auto, cuda or cpu'),
        ([node('a', 4)], 'auto', 0, 'num_process_per_gpu must be at least 1'),
        ([node('a', 0)], 'auto', 1, 'the Ray cluster has no CPU or GPU'),
    ],
)
def test_impossible_placements_say_why(nodes, device, count, message):
    with pytest.raises(ValueError, match=message):
        plan_actors(nodes, device, count)


@pytest.mark.subprocess
def test_import_help_and_a_job_without_ray_never_import_ray(tmp_path):
    official_weights('realesr-animevideov3')
    result = run_python(f"""
        import contextlib, io, json, sys
        import cv2, numpy as np
        import realesrgan
        seen = {{'import': 'ray' in sys.modules}}
        from realesrgan.cli import image, video
        for name, module in (('image_help', image), ('video_help', video)):
            with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
                module.main(['--help'])
            seen[name] = 'ray' in sys.modules
        cv2.imwrite({str(tmp_path / 'in.png')!r}, np.full((8, 8, 3), 99, np.uint8))
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            status = image.main(['-n', 'realesr-animevideov3', '-i', {str(tmp_path / 'in.png')!r},
                                 '-o', {str(tmp_path / 'out')!r}, '--device', 'cpu',
                                 '--weights_dir', {str(WEIGHTS_DIR)!r}])
        seen['job'] = 'ray' in sys.modules
        seen['status'] = status
        print(json.dumps(seen))
    """)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {'import': False, 'image_help': False, 'video_help': False, 'job': False, 'status': 0}
    assert (tmp_path / 'out' / 'in_out.png').exists()


@pytest.mark.subprocess
def test_without_ray_installed_the_flag_says_what_to_install(tmp_path):
    result = run_python(f"""
        import sys
        sys.modules['ray'] = None  # as if Ray were not installed
        import cv2, numpy as np
        from realesrgan.cli import image
        cv2.imwrite({str(tmp_path / 'in.png')!r}, np.full((8, 8, 3), 99, np.uint8))
        sys.exit(image.main(['-n', 'realesr-animevideov3', '-i', {str(tmp_path / 'in.png')!r},
                             '-o', {str(tmp_path / 'out')!r}, '--weights_dir', {str(WEIGHTS_DIR)!r}, '--ray']))
    """)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: --ray needs Ray, which cannot be imported') and '[cluster]' in last


@pytest.mark.subprocess
def test_an_address_where_no_cluster_answers_is_refused_at_once(tmp_path):
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]  # free, so nothing answers there
    official_weights('realesr-animevideov3')
    result = run_python(f"""
        import sys
        from realesrgan.cli import image
        sys.exit(image.main(['-n', 'realesr-animevideov3', '-i', 'inputs/astronaut.png', '-o', {str(tmp_path)!r},
                             '--weights_dir', {str(WEIGHTS_DIR)!r}, '--ray', '127.0.0.1:{port}']))
    """)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f'error: cannot reach the Ray cluster at 127.0.0.1:{port} (') and '--ray alone' in last
