"""``RealESRGANer``, the inference engine: one network on one device, images whole or in tiles, frames in batches.

``RealESRGANer`` keeps the original's constructor, methods, attributes and pixels (untiled, fp32); what it is made
of lives in :mod:`realesrgan.inference`:

* the settings are one validated :class:`~realesrgan.inference.settings.UpscaleSettings`
  (:meth:`RealESRGANer.from_choice` makes an upsampler from a model choice and settings);
* the device is chosen once (CUDA, else MPS, else CPU) and the precision is a choice (fp32 / fp16 / bf16 / auto),
  run under autocast with fp32 weights; fp16 is never used on a CPU (:mod:`~realesrgan.inference.precision`);
* inference mode and channels-last memory, which give the same output as contiguous fp32 (about 90 dB); freed
  layer outputs are reused (:mod:`~realesrgan.inference.heap_reuse`), and RRDBNet's upsampling layers run in bands
  of rows (:mod:`~realesrgan.inference.network_forward`): same output, less time and memory;
* tiles that do not show: even, overlapping windows with cross-faded seams (:mod:`~realesrgan.inference.tiling`),
  several tiles per forward pass, the full image kept on the host; an fp16/bf16 result with NaN or Inf is redone
  in fp32 and an out-of-memory image with smaller tiles (:mod:`~realesrgan.inference.tile_runner`);
* ``enhance`` is safe to call from several threads: it keeps its state in locals and only mirrors the last
  call's tensors into ``img`` / ``output`` for scripts that read them;
* video frames go through :meth:`RealESRGANer.enhance_frames`: several frames per forward pass, with the clamp, the
  scaling to 0..255 and the rounding to uint8 on the device, the same pixels as ``enhance`` frame by frame.

``realesrgan.utils`` re-exports this class under the original's import path.
"""

import logging
import threading
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from torch import nn

from realesrgan.inference.alpha_bleed import bleed_alpha
from realesrgan.inference.device import select_device
from realesrgan.inference.heap_reuse import keep_freed_memory
from realesrgan.inference.host_memory import check_upscale_memory, upscale_memory
from realesrgan.inference.image_conversion import (
    checked_pixels,
    color_output,
    gray_output,
    max_range_of,
    network_input,
    quantize,
)
from realesrgan.inference.network_weights import blend_checkpoints, load_weights, local_weights
from realesrgan.inference.precision import resolve_precision
from realesrgan.inference.settings import UpscaleSettings, check_outscale
from realesrgan.inference.tile_runner import NonFiniteOutputError, TileCallback, TileRunner, is_out_of_memory
from realesrgan.inference.tiling import DEFAULT_TILE_BLEND, tiled_input_size
from realesrgan.zoo import ArchInfo, ModelTraits, get_model_spec, load_network, load_state_dict
from realesrgan.zoo.spandrel_models import from_descriptor, is_spandrel_descriptor

if TYPE_CHECKING:
    from realesrgan.inference.model_choice import ModelChoice

__all__ = ['FRAME_PASS_PIXELS', 'MAX_FRAMES_PER_PASS', 'RealESRGANer']

logger = logging.getLogger(__name__)

# Input pixels per forward pass of video frames, by device type. On GPUs several frames fill the device better
# (PR #650 of the original: 4 frames of 1080p per pass). On CPUs fewer, larger passes spend less on the threads'
# start and sync of each layer: realesr-animevideov3 on 320x180 frames took 5.1 s a frame one per pass, 2.9 s two
# per pass and 2.3-3.2 s four per pass (2 shared AVX-512 cores, fp32), so CPUs take four such frames per pass.
FRAME_PASS_PIXELS = {'cuda': 4 * 1920 * 1080, 'mps': 2 * 1920 * 1080, 'cpu': 4 * 320 * 180}
MAX_FRAMES_PER_PASS = 16


class RealESRGANer:
    """Upscale images with a Real-ESRGAN network, whole or in tiles, on any device.

    Args:
        scale: Upscaling factor of the network.
        model_path: Weights: a local ``.pth`` or ``.safetensors``, an ``https://`` URL (downloaded, checked, into
            ``weights/``), a list of two of these blended by ``dni_weight`` (deep network interpolation), or None to
            keep the weights ``model`` already has. Checkpoints give ``params_ema`` when present, else ``params``,
            else the bare state dict; ESRGAN checkpoints of the older key layouts are renamed for RRDBNet. With a
            ``model``, they must fit it exactly.
        dni_weight: Blend weights of the two networks when ``model_path`` is a list.
        model: The network, or a model that spandrel loaded (its size rules and safe precisions are followed);
            None builds the network the weights belong to (ours, or with the ``models`` extra any architecture
            spandrel knows), or the RealESRGAN_x4plus RRDBNet (with ``scale``) when there are no weights.
        tile: Tile size in input pixels (the largest step between tiles); 0 runs whole images.
        tile_pad: Context each tile takes from its neighbours, as the original.
        pre_pad: Reflection padding added to the bottom and right before the network, removed afterwards.
        half: Run in fp16 (the original's flag; same as ``precision='fp16'``).
        device: ``torch.device`` or name; None picks CUDA, else MPS, else the CPU.
        gpu_id: CUDA device index.
        precision: ``'fp32'``, ``'fp16'``, ``'bf16'`` or ``'auto'`` (fp16 on CUDA, bf16 on CPUs with AMX-BF16,
            fp32 otherwise); None follows ``half``. fp16 on a CPU falls back to fp32 with a warning.
        tile_blend: Extra context every seam gets beyond ``tile_pad``; tiles are cross-faded there. 0 gives the
            original's amount of context.
        tile_batch: Tiles per forward pass (same output, faster on GPUs for small tiles).

    Attributes:
        traits: What the network needs and tolerates (:class:`~realesrgan.zoo.ModelTraits`: input size rules, safe
            precisions), as its family or spandrel declares them; None for a ``model`` passed as a module, which
            gets the original's mod-pad (even sizes for ``scale`` 2, multiples of 4 for 1) and any precision.

    Raises:
        realesrgan.inference.settings.SettingError: A setting has a value it cannot take.
        realesrgan.zoo.CheckpointError: The weights are no network this package (or spandrel) can load.
        ValueError: The weights do not fit ``model``, or their network's scale is not ``scale``.
    """

    # its public home, as numpy's set_module does: reprs, pickles and docs name the original's import path
    __module__ = 'realesrgan.utils'

    def __init__(
        self,
        scale: int,
        model_path: Union[str, Sequence[str], None],
        dni_weight: Optional[Sequence[float]] = None,
        model: Optional[nn.Module] = None,
        tile: int = 0,
        tile_pad: int = 10,
        pre_pad: int = 10,
        half: bool = False,
        device: Union[str, torch.device, None] = None,
        gpu_id: Optional[int] = None,
        *,
        precision: Optional[str] = None,
        tile_blend: int = DEFAULT_TILE_BLEND,
        tile_batch: int = 1,
    ) -> None:
        settings = UpscaleSettings(  # checks every setting (the attributes below keep the original's names)
            tile=tile,
            tile_pad=tile_pad,
            pre_pad=pre_pad,
            tile_blend=tile_blend,
            tile_batch=tile_batch,
            precision=precision or ('fp16' if half else 'fp32'),
            device='auto' if device is None else device,
            gpu_id=gpu_id,
        )
        self.scale = scale
        self.tile_size = tile
        self.tile_pad = tile_pad
        self.pre_pad = pre_pad
        self.tile_blend = tile_blend
        self.tile_batch = tile_batch
        self.mod_scale = None
        self.mod_pad_h = self.mod_pad_w = 0
        self.half = half
        self.img: Optional[torch.Tensor] = None
        self.output: Optional[torch.Tensor] = None
        self.device = select_device(settings.device, gpu_id)
        # Channels-last is the fast layout for CPU (oneDNN) and CUDA convolutions; MPS gains nothing from it.
        self.channels_last = self.device.type in ('cpu', 'cuda')
        self._state_lock = threading.Lock()
        self._said_fits_one_tile = False
        # Layer outputs reuse freed memory instead of faulting in fresh pages (1.1-1.3x faster on this CPU VM).
        keep_freed_memory()

        model, self.traits = self._network(scale, model_path, dni_weight, model)
        self.precision = resolve_precision(precision, self.device, half, self.traits)
        model.eval()
        memory_format = torch.channels_last if self.channels_last else torch.preserve_format
        self.model = model.to(device=self.device, memory_format=memory_format)

    def _network(
        self,
        scale: int,
        model_path: Union[str, Sequence[str], None],
        dni_weight: Optional[Sequence[float]],
        model: Optional[nn.Module],
    ) -> Tuple[nn.Module, Optional[ModelTraits]]:
        """The network with its weights, and what it needs (size rules, safe precisions; None: not declared)."""
        traits = None
        if is_spandrel_descriptor(model):
            model, info = from_descriptor(model)
            traits = self._checked_scale(info, scale, 'the spandrel model')
        if isinstance(model_path, (list, tuple)):
            if dni_weight is None or len(model_path) != 2 or len(dni_weight) != 2:
                raise ValueError(
                    'Deep network interpolation needs exactly two model paths and two dni_weight '
                    f'values, got model_path={model_path!r} and dni_weight={dni_weight!r}.'
                )
            state_dict, source = self.dni(model_path[0], model_path[1], dni_weight)['params'], model_path
        elif model_path is not None:
            source = local_weights(model_path)
            state_dict = load_state_dict(source)
        elif model is None:
            x4plus = get_model_spec('RealESRGAN_x4plus').network
            return ArchInfo(x4plus.arch, dict(x4plus.kwargs, scale=scale), scale).build(), traits
        else:
            return model, traits
        if model is not None:
            load_weights(model, state_dict, source)
            return model, traits
        # no network given: the one the weights belong to (ours, or any that spandrel loads)
        model, info = load_network(state_dict, source=str(source))
        return model, self._checked_scale(info, scale, source)

    @staticmethod
    def _checked_scale(info: ArchInfo, scale: int, source: Any) -> ModelTraits:
        if info.netscale != scale:
            raise ValueError(f'{source} is an x{info.netscale} {info.arch} network, but scale={scale} was given.')
        return info.traits

    @classmethod
    def from_choice(cls, choice: 'ModelChoice', settings: UpscaleSettings) -> 'RealESRGANer':
        """An upsampler for a resolved model (:func:`realesrgan.inference.model_choice.choose_model`) and settings.

        Args:
            choice: The network, its local weights and DNI blend.
            settings: Tiles, padding, precision and device (``outscale`` and ``alpha_upsampler`` are per call:
                pass them to :meth:`enhance`).

        Returns:
            The upsampler, weights loaded.
        """
        return cls(
            scale=choice.network.netscale,
            model_path=list(choice.model_paths) if choice.dni_weight else choice.model_paths[0],
            dni_weight=list(choice.dni_weight) if choice.dni_weight else None,
            model=choice.network.build() if choice.network.native else None,  # else spandrel builds it from the file
            tile=settings.tile,
            tile_pad=settings.tile_pad,
            pre_pad=settings.pre_pad,
            device=settings.device,
            gpu_id=settings.gpu_id,
            precision=settings.precision,
            tile_blend=settings.tile_blend,
            tile_batch=settings.tile_batch,
        )

    def dni(
        self, net_a: str, net_b: str, dni_weight: Sequence[float], key: str = 'params', loc: str = 'cpu'
    ) -> Dict[str, Dict[str, torch.Tensor]]:
        """Deep network interpolation: ``dni_weight[0] * net_a + dni_weight[1] * net_b``, parameter by parameter.

        Args:
            net_a: First checkpoint (path or URL).
            net_b: Second checkpoint, same architecture.
            dni_weight: The two blend weights.
            key: Entry of the returned dict that holds the blended weights.
            loc: Device of the blended tensors.

        Returns:
            ``{key: blended_state_dict}`` (see :func:`realesrgan.inference.network_weights.blend_checkpoints`).
        """
        return {key: blend_checkpoints(local_weights(net_a), local_weights(net_b), dni_weight, loc)}

    # ------------------------------------------------------------------ the original's step-by-step interface

    def _current_mod_scale(self) -> Optional[int]:
        """2 for x2 networks, 4 for x1 networks; otherwise whatever was set before (the original's behaviour)."""
        return {2: 2, 1: 4}.get(self.scale, self.mod_scale)

    def _size_rules(self) -> ModelTraits:
        """The size rules the network declares; for a network given as a module, the original's mod-pad."""
        if self.traits is not None:
            return self.traits
        return ModelTraits(multiple_of=self._current_mod_scale() or 1)

    def _runner(self) -> TileRunner:
        return TileRunner(self.model, self.device, self.scale, self.channels_last)

    def pre_process(self, img: np.ndarray) -> None:
        """Store an (H, W, 3) RGB float image in [0, 1] in ``img`` as the padded (1, 3, H', W') network input."""
        self.mod_scale = self._current_mod_scale()
        height, width = img.shape[0] + self.pre_pad, img.shape[1] + self.pre_pad
        padded = self._size_rules().padded_size(height, width)
        self.img = network_input(np.asarray(img), 1, False, self.pre_pad, padded, self.device, self.channels_last)
        self.mod_pad_h, self.mod_pad_w = padded[0] - height, padded[1] - width

    @torch.inference_mode()
    def process(self) -> None:
        """Run the network on the whole of ``img`` into ``output``."""
        self.output = self._runner().forward(self.img.to(self.device), self.precision)

    @torch.inference_mode()
    def tile_process(self) -> None:
        """Run the network on ``img`` tile by tile (``tile_size``, ``tile_pad``) into ``output``."""
        _, _, height, width = self.img.shape
        self.output = self._runner().tiled_forward(
            self.img,
            self.precision,
            self.tile_size,
            self.tile_batch,
            self.tile_pad + self.tile_blend,
            self._size_rules(),
            (height * self.scale, width * self.scale),
            None,
        )

    def post_process(self) -> torch.Tensor:
        """Remove the mod-pad (any pad to the network's sizes) and the pre-pad from ``output`` and return it."""
        _, _, height, width = self.output.shape
        height, width = height - self.mod_pad_h * self.scale, width - self.mod_pad_w * self.scale
        height, width = height - self.pre_pad * self.scale, width - self.pre_pad * self.scale
        self.output = self.output[:, :, :height, :width]
        return self.output

    # ------------------------------------------------------------------ the network passes

    def _upscale_planes(self, planes: np.ndarray, max_range: int, on_tile: Optional[TileCallback]) -> torch.Tensor:
        """Network output (1, 3, H * scale, W * scale), RGB float, for an (H, W) or (H, W, 3) BGR image.

        Redoes the image in fp32 when reduced precision gives NaN/Inf, and with fewer tiles per batch, then smaller
        tiles, when the device runs out of memory.
        """
        runner = self._runner()

        def attempt(precision: str, tile: int, tile_batch: int) -> torch.Tensor:
            return self._upscale_once(runner, planes, max_range, precision, tile, tile_batch, on_tile)

        return runner.with_retries(attempt, self.precision, self.tile_size, self.tile_batch, max(planes.shape[:2]))

    def _upscale_once(
        self,
        runner: TileRunner,
        planes: np.ndarray,
        max_range: int,
        precision: str,
        tile: int,
        tile_batch: int,
        on_tile: Optional[TileCallback],
    ) -> torch.Tensor:
        """One attempt of :meth:`_upscale_planes`; mirrors the result into ``img`` and ``output``."""
        height, width = planes.shape[:2]
        crop = (height * self.scale, width * self.scale)
        with self._state_lock:  # the last call's tensors (the output is 48 MB at 512 px) need not outlive this one
            self.img = self.output = None
        size = (height + self.pre_pad, width + self.pre_pad)
        if 0 < max(size) <= tile:  # one tile holds it: the untiled pass gives the same pixels, as in the original
            self._say_fits_one_tile(width, height, tile)
            tile = 0
        tiled = tile > 0
        source_device = torch.device('cpu') if tiled else self.device  # tiles: the full image stays on the host
        rules, context = self._size_rules(), self.tile_pad + self.tile_blend
        if tiled:
            padded = tiled_input_size(*size, tile, context, rules.multiple_of, rules.minimum, rules.square)
        else:
            padded = rules.padded_size(*size)
        image = network_input(planes, max_range, True, self.pre_pad, padded, source_device, self.channels_last)
        mod_pad_h, mod_pad_w = padded[0] - size[0], padded[1] - size[1]
        if tiled:
            output = runner.tiled_forward(image, precision, tile, tile_batch, context, rules, crop, on_tile)
        else:
            output = runner.forward(image, precision)[:, :, : crop[0], : crop[1]]
        with self._state_lock:
            self.img, self.output, self.mod_pad_h, self.mod_pad_w = image, output, mod_pad_h, mod_pad_w
        return output

    def _say_fits_one_tile(self, width: int, height: int, tile: int) -> None:
        """Say once per upscaler that an image runs untiled because it fits in one tile."""
        if not self._said_fits_one_tile:
            self._said_fits_one_tile = True
            logger.warning(
                'A %dx%d image fits in one tile of %d px (-t): it is upscaled whole, untiled (the same pixels).',
                width,
                height,
                tile,
            )

    def _check_host_memory(self, img: np.ndarray, max_range: int, outscale: Optional[float]) -> None:
        """Fail at once, with what to do, when upscaling ``img`` cannot fit in the host's memory (every buffer)."""
        needed = upscale_memory(
            img.shape,
            max_range,
            self.scale,
            outscale,
            self.pre_pad,
            self.tile_size,
            self.tile_pad + self.tile_blend,
            self._size_rules(),
            self.device.type == 'cpu',
        )
        check_upscale_memory(img.shape, needed, outscale, self.scale)

    @torch.inference_mode()
    def enhance(
        self,
        img: np.ndarray,
        outscale: Optional[float] = None,
        alpha_upsampler: str = 'realesrgan',
        *,
        on_tile: Optional[TileCallback] = None,
        alpha_bleed: bool = False,
    ) -> Tuple[np.ndarray, str]:
        """Upscale one image as the original does.

        Args:
            img: (H, W) gray, (H, W, 3) BGR or (H, W, 4) BGRA image, 8- or 16-bit, or float (in the 8-bit range, or
                in [0, 1], which is scaled to it); the output is uint8 (uint16 for 16-bit input).
            outscale: Final scale; the network output is resized (Lanczos) when it differs from ``scale``.
            alpha_upsampler: ``'realesrgan'`` upscales the alpha channel with the network too; anything else
                resizes it (bilinear).
            on_tile: Called with (tiles done, tiles in all) after each batch of tiles.
            alpha_bleed: For images with alpha, give fully transparent pixels the colour of the nearest visible one
                before upscaling (:func:`~realesrgan.inference.alpha_bleed.bleed_alpha`): no dark fringes from the
                colour hidden under them. False keeps the original's pixels.

        Returns:
            The output image (same channels, uint8, or uint16 for 16-bit input) and the mode ``'L'``, ``'RGB'``
            or ``'RGBA'``.

        Raises:
            ValueError: The image (NaN values, wrong shape) or ``outscale`` is not usable, or the network gives NaN.
            MemoryError: The output would not fit in the host's memory (checked before any work).
        """
        img = checked_pixels(np.ascontiguousarray(img))  # (also views with negative strides, which torch refuses)
        if img.ndim == 3 and img.shape[2] == 1:
            img = img[:, :, 0]
        if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)) or img.size == 0:
            raise ValueError(f'Expected an (H, W) gray, (H, W, 3) BGR or (H, W, 4) BGRA image, got shape {img.shape}.')
        height, width = img.shape[:2]
        check_outscale(outscale)
        if outscale is not None:
            if int(width * outscale) < 1 or int(height * outscale) < 1:
                raise ValueError(f'outscale {outscale} makes the {width}x{height} image smaller than one pixel.')
        if img.dtype.kind == 'f':
            if not np.isfinite(img).all():
                raise ValueError('The image has NaN or infinite values; give an image with finite pixel values.')
            if float(img.max()) <= 1.0:  # a float image in [0, 1]: the original's range test would make it black
                img = img.astype(np.float32) * 255.0
        max_range = max_range_of(img)
        self._check_host_memory(img, max_range, outscale)
        if max_range == 65535:
            logger.info('Input is a 16-bit image')

        if img.ndim == 2:
            img_mode = 'L'
            output = gray_output(self._upscale_planes(img, max_range, on_tile), max_range)
        else:
            img_mode = 'RGBA' if img.shape[2] == 4 else 'RGB'
            colour = (bleed_alpha(img) if alpha_bleed and img_mode == 'RGBA' else img)[:, :, :3]
            output = color_output(self._upscale_planes(colour, max_range, on_tile), max_range)
        if img_mode == 'RGBA':
            alpha = img[:, :, 3]
            if alpha_upsampler == 'realesrgan':
                output_alpha = gray_output(self._upscale_planes(alpha, max_range, on_tile), max_range)
            else:
                size = (width * self.scale, height * self.scale)
                resized = cv2.resize(alpha.astype(np.float32) / max_range, size, interpolation=cv2.INTER_LINEAR)
                output_alpha = quantize(torch.from_numpy(resized), max_range)
            output = np.concatenate([output, output_alpha[:, :, None]], axis=2)

        return self._resized(output, height, width, outscale), img_mode

    def frames_per_pass(self, height: int, width: int) -> int:
        """How many video frames of this size :meth:`enhance_frames` runs through the network at once.

        Args:
            height: Frame height.
            width: Frame width.

        Returns:
            1 when tiled, else as many as :data:`FRAME_PASS_PIXELS` of the device holds, at least 1 and at most
            :data:`MAX_FRAMES_PER_PASS`.
        """
        if self.tile_size > 0:
            return 1
        budget = FRAME_PASS_PIXELS.get(self.device.type, FRAME_PASS_PIXELS['cpu'])
        return max(1, min(MAX_FRAMES_PER_PASS, budget // max(1, height * width)))

    def enhance_frames(self, frames: Sequence[np.ndarray], outscale: Optional[float] = None) -> List[np.ndarray]:
        """Upscale video frames, several per forward pass: the same pixels as :meth:`enhance` on each.

        The frames go through the network as one batch, and the clamp, the scaling and the rounding to uint8 run on
        the device, so only 8-bit frames cross to the host. Frames that cannot share a pass (tiles, sizes or types
        that differ) are done one by one, and so is a batch whose pass ran out of memory or gave NaN/Inf in reduced
        precision (each frame then gets the retries of :meth:`enhance`).

        Args:
            frames: BGR uint8 frames, (H, W, 3).
            outscale: Final scale, as for :meth:`enhance`.

        Returns:
            The upscaled BGR uint8 frames, in order.
        """
        first = frames[0] if frames else None
        if (
            len(frames) < 2
            or any(frame.shape != first.shape or frame.dtype != np.uint8 or frame.ndim != 3 for frame in frames)
            or first.shape[2] != 3
            or self.frames_per_pass(*first.shape[:2]) < 2
        ):
            return [self.enhance(frame, outscale)[0] for frame in frames]
        try:
            return self._enhance_batch(frames, outscale)
        except (NonFiniteOutputError, RuntimeError) as error:
            if not isinstance(error, NonFiniteOutputError) and not is_out_of_memory(error):
                raise
            logger.info('A pass of %d frames failed (%s); upscaling them one by one.', len(frames), error)
            return [self.enhance(frame, outscale)[0] for frame in frames]

    @torch.inference_mode()
    def _enhance_batch(self, frames: Sequence[np.ndarray], outscale: Optional[float]) -> List[np.ndarray]:
        """One forward pass over same-sized BGR uint8 frames, each converted as :meth:`enhance` converts it."""
        height, width = frames[0].shape[:2]
        check_outscale(outscale)
        self._check_host_memory(frames[0], 255, outscale)
        padded = self._size_rules().padded_size(height + self.pre_pad, width + self.pre_pad)
        inputs = [
            network_input(np.ascontiguousarray(frame), 255, True, self.pre_pad, padded, self.device, self.channels_last)
            for frame in frames
        ]
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        output = self._runner().forward(torch.cat(inputs).contiguous(memory_format=memory_format), self.precision)
        results = []
        for index in range(len(frames)):
            image = color_output(output[index : index + 1, :, : height * self.scale, : width * self.scale], 255)
            results.append(self._resized(image, height, width, outscale))
        return results

    def _resized(self, output: np.ndarray, height: int, width: int, outscale: Optional[float]) -> np.ndarray:
        """The network's output resized (Lanczos) to ``outscale`` times the input size, when that is not ``scale``."""
        if outscale is None or outscale == float(self.scale):
            return output
        return cv2.resize(output, (int(width * outscale), int(height * outscale)), interpolation=cv2.INTER_LANCZOS4)
