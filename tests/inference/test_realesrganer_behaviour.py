"""RealESRGANer's behaviour with small random networks: the step-by-step API, threads, retries, errors."""

import logging
import queue
import threading

import cv2
import numpy as np
import pytest
import torch
from basicsr.archs.rrdbnet_arch import RRDBNet
from torch import nn

from realesrgan import IOConsumer, PrefetchReader, RealESRGANer
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.inference.precision import resolve_precision


def small_net(upscale: int = 4, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return SRVGGNetCompact(num_feat=8, num_conv=3, upscale=upscale).eval()


def upsampler(**kwargs) -> RealESRGANer:
    options = dict(scale=4, model_path=None, model=small_net(), pre_pad=0, device='cpu')
    options.update(kwargs)
    return RealESRGANer(**options)


def random_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


class Recorder(nn.Module):
    """Wraps a network; records input shapes and can fail on chosen calls."""

    def __init__(self, net: nn.Module, fail=None) -> None:
        super().__init__()
        self.net = net
        self.shapes = []
        self.fail = fail or (lambda call, x: None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape))
        self.fail(len(self.shapes), x)
        return self.net(x)


def test_the_original_step_by_step_interface():
    """The sequence of calls (and the shapes) of the original's own unit test."""
    restorer = upsampler(tile=10, tile_pad=10, pre_pad=2)
    img = np.random.random((12, 12, 3)).astype(np.float32)
    restorer.pre_process(img)
    assert restorer.img.shape == (1, 3, 14, 14)
    restorer.scale = 1  # scale 1 asks for a mod-pad to a multiple of 4
    restorer.pre_process(img)
    assert restorer.img.shape == (1, 3, 16, 16) and restorer.mod_scale == 4
    restorer.process()
    assert restorer.output.shape == (1, 3, 64, 64)
    assert restorer.post_process().shape == (1, 3, 60, 60)

    restorer.scale = 4
    restorer.pre_process(img)
    restorer.tile_process()
    assert restorer.output.shape == (1, 3, 64, 64)

    result = restorer.enhance(np.random.random((12, 12, 3)).astype(np.float32), outscale=2)
    assert result[0].shape == (24, 24, 3) and result[1] == 'RGB'
    result = restorer.enhance(np.random.random((4, 4, 3)).astype(np.uint16) + 512, outscale=2)
    assert result[0].shape == (8, 8, 3) and result[0].dtype == np.uint16 and result[1] == 'RGB'
    result = restorer.enhance(np.random.random((4, 4)).astype(np.float32), outscale=2)
    assert result[0].shape == (8, 8) and result[1] == 'L'
    result = restorer.enhance(np.random.random((4, 4, 4)).astype(np.float32), outscale=2)
    assert result[0].shape == (8, 8, 4) and result[1] == 'RGBA'
    restorer.tile_size = 0
    result = restorer.enhance(np.random.random((4, 4, 4)).astype(np.float32), outscale=2, alpha_upsampler=None)
    assert result[0].shape == (8, 8, 4) and result[1] == 'RGBA'


def test_tiles_batched_or_not_give_the_untiled_output():
    img = random_image(72, 88)
    reference, _ = upsampler().enhance(img)
    one, _ = upsampler(tile=16, tile_pad=4, tile_blend=8).enhance(img)
    batched, _ = upsampler(tile=16, tile_pad=4, tile_blend=8, tile_batch=4).enhance(img)
    assert np.abs(one.astype(int) - batched.astype(int)).max() <= 1
    assert np.count_nonzero(one != batched) <= one.size // 10000
    assert np.abs(one.astype(int) - reference.astype(int)).max() <= 1


def test_tiles_not_the_image_go_through_the_network():
    """Only tile windows reach the network, several per pass with tile_batch, all of one size."""
    net = Recorder(small_net())
    upsampler(model=net, tile=16, tile_pad=2, tile_blend=2, tile_batch=3).enhance(random_image(64, 64))
    # 24 = tile 16 + 2 * (tile_pad 2 + tile_blend 2); 4 x 4 windows cover 64 pixels in steps of at most 16
    assert {shape[1:] for shape in net.shapes} == {(3, 24, 24)}
    assert [shape[0] for shape in net.shapes] == [3, 3, 3, 3, 3, 1]


def test_enhance_is_safe_from_several_threads():
    shared = upsampler(tile=24, tile_pad=4)
    images = [random_image(40 + 4 * index, 48, seed=index) for index in range(6)]
    expected = [upsampler(tile=24, tile_pad=4).enhance(img)[0] for img in images]
    results = [None] * len(images)

    def work(index):
        for _ in range(3):
            results[index] = shared.enhance(images[index])[0]

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result, reference in zip(results, expected):
        assert np.array_equal(result, reference)


def test_out_of_memory_retries_with_tiles(caplog):
    def fail_first(call, x):
        if call == 1:
            raise torch.cuda.OutOfMemoryError('CUDA out of memory. Tried to allocate 20.00 GiB')

    img = random_image(120, 100)
    reference, _ = upsampler(tile=0).enhance(img)
    net = Recorder(small_net(), fail_first)
    with caplog.at_level(logging.WARNING, logger='realesrgan.inference.upsampler'):
        output, _ = upsampler(model=net, tile=0, tile_pad=4, tile_blend=4).enhance(img)
    assert 'Out of memory on cpu; retrying this image with tile 60 (1 per batch)' in caplog.text
    assert net.shapes == [(1, 3, 120, 100)] + [(1, 3, 76, 76)] * 4  # whole image first, then 2 x 2 tiles
    assert np.abs(output.astype(int) - reference.astype(int)).max() <= 1


def test_out_of_memory_halves_the_batch_then_gives_up_clearly():
    def always(call, x):
        raise torch.cuda.OutOfMemoryError('CUDA out of memory.')

    net = Recorder(small_net(), always)
    with pytest.raises(RuntimeError, match='Out of memory on cpu even with tiles of 32 pixels'):
        upsampler(model=net, tile=128, tile_batch=4, tile_pad=2, tile_blend=0).enhance(random_image(300, 300))
    # batches of 4, 2 and 1 tiles of 128 (+ 2 * 2 context), then single tiles of 64 and 32
    assert [shape[:3] for shape in net.shapes] == [(4, 3, 132), (2, 3, 132), (1, 3, 132), (1, 3, 68), (1, 3, 36)]


def test_errors_in_the_tile_loop_are_not_swallowed():
    def fail_second(call, x):
        if call == 2:
            raise ValueError('broken tile')

    with pytest.raises(ValueError, match='broken tile'):
        restorer = upsampler(model=Recorder(small_net(), fail_second), tile=16, tile_pad=2, tile_blend=2)
        restorer.enhance(random_image(64, 64))


def test_non_finite_reduced_precision_output_is_redone_in_fp32(caplog):
    class NanInLowPrecision(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = small_net()

        def forward(self, x):
            out = self.net(x)
            return out * float('nan') if torch.is_autocast_enabled('cpu') else out

    img = random_image(32, 32)
    reference, _ = upsampler().enhance(img)
    with caplog.at_level(logging.WARNING, logger='realesrgan.inference.upsampler'):
        output, _ = upsampler(model=NanInLowPrecision(), precision='bf16').enhance(img)
    assert 'NaN or Inf' in caplog.text and 'redoing this image in fp32' in caplog.text
    assert np.array_equal(output, reference)


def test_precision_choices(monkeypatch, caplog):
    cpu = torch.device('cpu')
    with caplog.at_level(logging.WARNING, logger='realesrgan.inference.precision'):
        assert resolve_precision('fp16', cpu) == 'fp32'
    assert 'fp16 was requested on the CPU' in caplog.text
    assert resolve_precision(None, cpu) == 'fp32' and resolve_precision('bf16', cpu) == 'bf16'
    monkeypatch.setattr('realesrgan.inference.precision.cpu_has_native_bf16', lambda: True)

    def cpu_of(vendor, family, flags):
        info = {'vendor_id': vendor, 'cpu family': str(family), 'flags': ' '.join(flags)}
        monkeypatch.setattr('realesrgan.inference.precision.cpuinfo_fields', lambda: info)
        return torch.device('cpu')

    assert resolve_precision('auto', cpu_of('GenuineIntel', 6, ['avx512f', 'avx512_bf16', 'amx_bf16'])) == 'bf16'
    # AVX512-BF16 without AMX: measured slower than fp32 on an earlier AMD EPYC, faster on Zen 5 (family 26)
    assert resolve_precision('auto', cpu_of('AuthenticAMD', 25, ['avx512f', 'avx512_bf16'])) == 'fp32'
    assert resolve_precision('auto', cpu_of('GenuineIntel', 6, ['avx512f', 'avx512_bf16'])) == 'fp32'
    assert resolve_precision('auto', cpu_of('AuthenticAMD', 26, ['avx512f', 'avx512_bf16'])) == 'bf16'
    assert resolve_precision('auto', cpu_of('AuthenticAMD', 26, ['avx512f'])) == 'fp32'
    monkeypatch.setattr('realesrgan.inference.precision.cpu_has_native_bf16', lambda: False)
    assert resolve_precision('auto', cpu) == 'fp32'
    assert resolve_precision('auto', torch.device('cuda')) == 'fp16'
    with pytest.raises(ValueError, match='pass only one'):
        resolve_precision('bf16', cpu, half=True)
    with pytest.raises(ValueError, match='Unknown precision'):
        resolve_precision('int8', cpu)


def test_device_choice():
    assert upsampler(device=None).device.type in ('cuda', 'mps', 'cpu')
    if not torch.cuda.is_available():
        assert upsampler(device=None, gpu_id=1).device == torch.device('cpu')  # as the original: no GPU -> CPU
        with pytest.raises(ValueError, match='no CUDA GPU'):
            upsampler(device='cuda')
    with pytest.raises(ValueError, match='Unknown device'):
        upsampler(device='toaster')


def test_tiny_images_with_the_default_pre_pad():
    """1x1 images work although the default pre_pad (10) is larger than the image."""
    for shape in ((1, 1, 3), (1, 1), (3, 5, 4)):
        img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
        for tile in (0, 2):
            output, _ = RealESRGANer(4, None, model=small_net(), tile=tile, device='cpu').enhance(img)
            assert output.shape == (shape[0] * 4, shape[1] * 4) + shape[2:]


def test_x2_networks_get_even_sizes_also_in_odd_tiles():
    """RRDBNet x2 unshuffles its input by 2: odd images and odd tile sizes must still reach it even-sized."""
    torch.manual_seed(0)
    net = Recorder(RRDBNet(num_in_ch=3, num_out_ch=3, scale=2, num_feat=8, num_block=1, num_grow_ch=4).eval())
    for shape in ((1, 1, 3), (21, 17, 3)):
        img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
        for tile in (0, 5):
            restorer = RealESRGANer(2, None, model=net, tile=tile, tile_pad=1, tile_blend=0, pre_pad=0, device='cpu')
            output, _ = restorer.enhance(img)
            assert output.shape == (shape[0] * 2, shape[1] * 2, 3)
    assert all(shape[2] % 2 == 0 and shape[3] % 2 == 0 for shape in net.shapes)
    assert (1, 3, 8, 8) in net.shapes  # the tiles of 5 became windows of 6 + 2 * 1


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match='tile must be a non-negative integer'):
        upsampler(tile=-1)
    with pytest.raises(ValueError, match='tile_batch must be a positive integer'):
        upsampler(tile_batch=0)
    with pytest.raises(ValueError, match='outscale must be positive'):
        upsampler().enhance(random_image(8, 8), outscale=-2)
    with pytest.raises(ValueError, match=r'Expected an \(H, W\) gray'):
        upsampler().enhance(np.zeros((8, 8, 2), np.uint8))
    with pytest.raises(ValueError, match='scale=2 was given'):
        upsampler(scale=2, tile=8).enhance(random_image(16, 16))


def test_weights_that_do_not_fit_are_reported(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'params': small_net(upscale=2).state_dict()}, path)
    with pytest.raises(ValueError, match='do not fit SRVGGNetCompact'):
        upsampler(model_path=str(path))
    torch.save({'params': {'x': torch.zeros(1)}, 'params_ema': small_net(seed=3).state_dict()}, path)
    loaded = upsampler(model_path=str(path))  # params_ema wins
    torch.testing.assert_close(loaded.model.state_dict(), small_net(seed=3).state_dict())


def test_prefetch_reader_keeps_order_and_reports_bad_files(tmp_path):
    paths = []
    for index in range(3):
        paths.append(str(tmp_path / f'{index}.png'))
        cv2.imwrite(paths[-1], np.full((4, 4, 3), index, np.uint8))
    (tmp_path / 'broken.png').write_bytes(b'not a png')
    paths.insert(1, str(tmp_path / 'broken.png'))
    results = list(PrefetchReader(paths, 1).results())
    assert [result.path for result in results] == paths
    assert results[1].image is None and 'Cannot decode' in results[1].error
    assert [int(result.image[0, 0, 0]) for result in results if result.image is not None] == [0, 1, 2]
    images = list(PrefetchReader(paths, 2))  # plain iteration, as the original: images (None when unreadable)
    assert images[1] is None and len(images) == 4


def test_io_consumer_writes_atomically_and_records_failures(tmp_path):
    que = queue.Queue()
    consumer = IOConsumer(None, que, qid=0)
    consumer.start()
    good = tmp_path / 'ok ü.png'
    que.put({'output': np.full((5, 6, 3), 7, np.uint8), 'save_path': str(good)})
    (tmp_path / 'file').write_text('in the way')
    que.put({'output': np.zeros((2, 2, 3), np.uint8), 'save_path': str(tmp_path / 'file' / 'x.png')})
    que.put('quit')
    consumer.join(timeout=30)
    assert not consumer.is_alive()
    assert consumer.saved == [str(good)] and len(consumer.failed) == 1
    assert cv2.imdecode(np.fromfile(str(good), np.uint8), cv2.IMREAD_UNCHANGED).shape == (5, 6, 3)
    assert sorted(path.name for path in tmp_path.iterdir()) == ['file', 'ok ü.png']  # no temporary files left
