"""The two ways a video job can fail that a user can act on: bad input, or a job that could not finish."""


class VideoInputError(ValueError):
    """The input (or the output location) cannot be used; the message says what is wrong and what to do."""


class VideoJobError(RuntimeError):
    """The job started but could not finish, e.g. a worker crashed; the message names the segment."""
