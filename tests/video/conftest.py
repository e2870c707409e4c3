"""Video reading, encoding, jobs and the video command line.

test_video_io.py and test_video_cli.py are being edited on another branch: their markers are listed here. Every
job starts worker processes; the command-line tests with the ``weights_dir`` fixture convert the official
realesr-animevideov3 weights.
"""
from pathlib import Path

from helpers import mark_by_name

JOB = ('subprocess', )
CLI_JOB = ('subprocess', 'weights')
MARKS = {
    'test_video_io.py': {
        'test_job_scales_keeps_frames_rate_duration_and_copies_audio': JOB,
        'test_two_workers_give_the_same_file_as_one': JOB,
        'test_odd_output_size_is_padded_by_one_pixel': JOB,
        'test_lossless_settings_are_near_lossless': JOB,
        'test_fps_resamples_frames_and_keeps_duration_and_audio': JOB,
        'test_extract_frame_first_gives_the_same_file': JOB,
        'test_audio_mp4_cannot_hold_is_reencoded_to_aac': JOB,
        'test_matroska_input_with_millisecond_timestamps': JOB,
        'test_failing_worker_fails_the_job_cleanly': JOB,
        'test_damaged_frame_in_a_folder_fails_the_job_naming_it': JOB,
    },
    'test_video_cli.py': {
        'test_default_quality_matches_enhance_per_frame_and_keeps_audio': ('slow', ) + CLI_JOB,
        'test_crf0_yuv444p_is_near_lossless_and_two_workers_match_one': CLI_JOB,
        'test_fractional_outscale_gives_odd_size_padded_to_even': CLI_JOB,
        'test_folder_of_frames_at_the_given_fps': CLI_JOB,
        'test_bad_arguments_exit_with_a_message': ('weights', ),
        'test_not_a_video_exits_with_a_message': ('weights', ),
        'test_script_runs_end_to_end_in_a_fresh_interpreter': ('slow', ) + CLI_JOB,
    },
}


def pytest_collection_modifyitems(items):
    mark_by_name(items, Path(__file__).parent, MARKS)
