"""Upscale a video (or a folder of frames) into a video file: the engine behind ``inference_realesrgan_video.py``.

The policy of a run lives here, not in the script: face enhancement is turned off for anime models (as the
original), the worker devices are chosen (``num_process_per_gpu`` on every CUDA GPU, or that many on the one
device asked for), the model and its weights are resolved once in this process and handed to the workers as an
:class:`~realesrgan.inference.recipe.UpscalerRecipe`. The output and the input are checked first
(:mod:`realesrgan.video.preflight`), before the engine loads. The work itself is
:func:`realesrgan.video.upscale_video`.
"""

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, ClassVar, Dict, List, Mapping, NamedTuple, Optional, Type

from realesrgan.execution.job import JobSetupError, UpscaleJob, job_devices, reported_as
from realesrgan.inference.device import select_device
from realesrgan.inference.face_enhance import require_gfpgan
from realesrgan.inference.model_choice import DEFAULT_VIDEO_MODEL, ModelChoice, choose_model
from realesrgan.inference.precision import resolve_precision
from realesrgan.inference.recipe import UpscalerRecipe, describe_engine
from realesrgan.inference.settings import fields_from
from realesrgan.video import EncoderSettings, VideoInputError, VideoJobResult, upscale_video
from realesrgan.video.naming import output_file, video_name
from realesrgan.video.preflight import check_job

__all__ = [
    'DEFAULT_VIDEO_MODEL',
    'VideoJob',
    'VideoJobSetupError',
    'VideoRunSummary',
    'job_devices',
    'run_video_job',
    'video_name',
]


class VideoJobSetupError(JobSetupError):
    """The video job cannot start; the message says what was wrong and what to do."""


@dataclass(frozen=True)
class VideoJob(UpscaleJob):
    """A video upscaling run (the flags of ``inference_realesrgan_video.py``; see its ``--help``).

    The encoder flags (``codec``, ``crf``, ``preset``, ``pix_fmt``) go into ``encoder``; ``ext`` is the format of
    extracted frames; ``container`` the extension of the output file when ``output`` is a folder; ``resume`` keeps
    the finished segments of a job that did not finish, for the same command run again.
    """

    setup_error: ClassVar[Type[JobSetupError]] = VideoJobSetupError
    nested: ClassVar[Dict[str, Callable[[Mapping[str, Any]], Any]]] = {
        **UpscaleJob.nested,
        'encoder': lambda values: EncoderSettings(**fields_from(EncoderSettings, values)),
    }

    # None: realesr-animevideov3, or with --model_path alone the network its weights belong to
    model_name: Optional[str] = None
    fps: Optional[Fraction] = None
    extract_frame_first: bool = False
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    container: Optional[str] = None
    resume: bool = True

    @property
    def official_name(self) -> str:
        """The model name of the run: ``--model_name``, or the video default."""
        return self.model_name or DEFAULT_VIDEO_MODEL

    def choose_model(self) -> ModelChoice:
        """The job's model: as :meth:`UpscaleJob.choose_model`, with realesr-animevideov3 as the default name."""
        name = None if self.model_path and self.model_name is None else self.official_name
        return choose_model(name, self.model_path, self.denoise_strength, self.weights_dir)

    @property
    def output_path(self) -> str:
        """``<output>/<name>_<suffix>.<container>`` (``.mp4`` by default), or ``output`` when it names a video file.

        Raises:
            realesrgan.video.VideoInputError: ``output`` names a file of another container than ``container``.
        """
        try:
            return output_file(self.input, self.output, self.suffix, self.encoder.codec, self.container)
        except ValueError as error:
            raise VideoInputError(str(error)) from None


class VideoRunSummary(NamedTuple):
    """What a finished run produced, and on which devices."""

    result: VideoJobResult
    devices: List[str]

    def describe(self) -> str:
        """One line for the user: the file, frames, rate, audio and workers."""
        result = self.result
        audio = f', {result.audio_streams} audio stream(s) copied' if result.audio_streams else ''
        reused = f', {result.reused_frames} frames reused from the interrupted run' if result.reused_frames else ''
        used = ', '.join(sorted(set(self.devices[: result.num_workers]))) or 'none'
        encoder = result.encoder
        return (
            f'Saved {result.output_path}: {result.num_frames} frames at {float(result.frame_rate):.3f} fps{audio}, '
            f'{encoder.codec} {encoder.pix_fmt}{reused} ({result.num_workers} worker(s) on {used}).'
        )


def run_video_job(
    job: VideoJob,
    log: Callable[[str], None],
    progress: Optional[Callable[[int], None]] = None,
    on_start: Optional[Callable[[int], None]] = None,
    on_reuse: Optional[Callable[[int], None]] = None,
) -> VideoRunSummary:
    """Upscale ``job.input`` into :attr:`VideoJob.output_path`.

    Args:
        job: The options.
        log: Receives notes for the user (options turned off, the device and precision).
        progress: Called with the number of newly encoded frames.
        on_start: Called once with the number of output frames, before the workers start.
        on_reuse: Called once with the number of frames an interrupted run had finished, when there are any.

    Returns:
        What was produced, and the devices of the workers.

    Raises:
        VideoJobSetupError: The job cannot start (bad option, unknown model, missing weights, GFPGAN missing).
        realesrgan.video.VideoInputError: The input or the output cannot be used (checked before the engine loads).
        realesrgan.video.VideoJobError: A worker failed or died; the message names the segment.
    """
    output_path = job.output_path
    check_job(job.input, output_path, job.encoder)
    face_enhance = job.face_enhance
    if face_enhance and 'anime' in job.official_name:
        log('Note: --face_enhance is not supported for anime models; turned it off.')
        face_enhance = False
    with reported_as(VideoJobSetupError):
        executor = _ray_executor(job, log)
        devices = executor.devices if executor else job_devices(job.settings, job.num_process_per_gpu)
        if face_enhance:
            require_gfpgan()
        choice = job.choose_model()
    try:
        recipe = UpscalerRecipe(choice, job.settings, face_enhance, job.weights_dir)
        if executor is None or devices[0] == 'cpu':  # Ray's GPUs may be on other machines only
            first = select_device(devices[0])
            precision = resolve_precision(job.settings.precision, first, traits=choice.network.traits)
            log(describe_engine(first, precision, job.settings.precision))
        result = upscale_video(
            job.input,
            output_path,
            recipe,
            devices=devices,
            fps=job.fps,
            encoder=job.encoder,
            extract_frame_first=job.extract_frame_first,
            frame_ext='png' if job.ext == 'auto' else job.ext,
            progress=progress,
            on_start=on_start,
            resume=job.resume,
            on_reuse=on_reuse,
            executor=executor,
        )
    finally:
        if executor is not None:
            executor.close()
    if executor is not None:
        log(executor.describe_placements())
    return VideoRunSummary(result, devices)


def _ray_executor(job: VideoJob, log: Callable[[str], None]) -> Optional[Any]:
    """The job's connected :class:`~realesrgan.execution.ray_executor.RayExecutor` with ``--ray``, else None."""
    if job.ray is None:
        return None
    from realesrgan.execution.ray_executor import RayExecutor

    executor = RayExecutor(job.ray, job.settings.device, job.num_process_per_gpu)
    executor.connect()
    log(f'{executor.describe()}.')
    return executor
