"""stdout/stderr that outlive their terminal.

When the operator's SSH session drops, the kernel hangs up the terminal: the runner gets
SIGHUP (a graceful pause, see ``Engine.install_signal_handlers``) and from then on every
write to the terminal fails with EIO (EPIPE when the output was a pipe whose reader went
away). The run must still reach its pause and record it; a progress line that cannot be
shown is not a reason to stop mid-step. ``QuietStream`` wraps a text stream: the first
write or flush that fails with such an error points the stream's file descriptor at
/dev/null (so the interpreter's own flush at exit does not fail either) and every later
write is dropped silently.
"""

import errno
import os
import sys
from typing import Any, Callable

# EIO: terminal hung up; EPIPE: reader gone; ENXIO/EBADF: device or descriptor gone
GONE = (errno.EIO, errno.EPIPE, errno.ENXIO, errno.EBADF)


class QuietStream:
    """A text stream whose writes stop silently once its terminal or pipe is gone."""

    def __init__(self, stream: Any) -> None:  # noqa: D107 - see the class
        self.stream = stream
        self.gone = False

    def _lost(self, exc: OSError) -> None:
        if exc.errno not in GONE:
            raise exc
        self.gone = True
        try:  # later flushes (ours, the interpreter's at exit) go nowhere instead of failing
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.stream.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def write(self, text: str) -> int:
        """Write ``text``; nothing (and no error) once the stream is gone."""
        if self.gone:
            return len(text)
        try:
            return int(self.stream.write(text))
        except OSError as exc:
            self._lost(exc)
            return len(text)

    def flush(self) -> None:
        """Flush; nothing (and no error) once the stream is gone."""
        if self.gone:
            return
        try:
            self.stream.flush()
        except OSError as exc:
            self._lost(exc)

    def isatty(self) -> bool:
        """Whether the stream is (still) a terminal."""
        if self.gone:
            return False
        try:
            return bool(self.stream.isatty())
        except (OSError, ValueError):
            return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def quiet_std_streams() -> Callable[[], None]:
    """Wrap sys.stdout and sys.stderr in ``QuietStream``; returns what undoes it."""
    saved = (sys.stdout, sys.stderr)
    if not isinstance(sys.stdout, QuietStream):
        sys.stdout = QuietStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, QuietStream):
        sys.stderr = QuietStream(sys.stderr)  # type: ignore[assignment]

    def restore() -> None:
        sys.stdout, sys.stderr = saved

    return restore
