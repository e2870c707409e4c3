"""How a video job can fail that a user can act on: bad input, a job that could not finish, or a job stopped."""


class VideoInputError(ValueError):
    """The input (or the output location) cannot be used; the message says what is wrong and what to do."""


class VideoJobError(RuntimeError):
    """The job started but could not finish, e.g. a worker crashed; the message names the segment."""


class VideoJobTerminated(KeyboardInterrupt):
    """The job's process got SIGTERM: the job stopped as on Ctrl-C (workers stopped, nothing left behind).

    A :class:`KeyboardInterrupt`, so that code which handles Ctrl-C handles this too.

    Args:
        signum: The signal that stopped the job.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f'stopped by signal {signum}')
        self.signum = signum
