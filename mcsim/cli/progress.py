"""One progress reporter for every command, on standard error.

On a terminal it is a rich spinner and bar with what is being done. Anywhere else (a log file, CI) it
prints a plain line such as ``[mcsim] evaluating: 3/20 households (15%), 42 s elapsed`` at a steady
interval (``MCSIM_PROGRESS_INTERVAL`` seconds, 10 by default), even while one long call runs, and
one line at the end when it printed any: never a bar. Standard output stays the command's own
(pure JSON with ``--json``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, Task, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import TimeRemainingColumn as _TimeRemainingColumn
from rich.text import Text

INTERVAL_ENV = "MCSIM_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 10.0


@dataclass(frozen=True)
class State:
    """The phase last reported: ``done`` of ``total`` ``unit`` (``total`` 0: unknown), live ``detail``."""

    what: str
    done: int = 0
    total: int = 0
    unit: str = ""
    detail: str = ""

    def count(self) -> str:
        """``3/20 households``; without a total ``20,000 paths`` (``step 7`` without a unit); empty at 0."""
        unit = f" {self.unit}" if self.unit else ""
        if self.total > 0:
            return f"{self.done:,}/{self.total:,}{unit}"
        if not self.done:
            return ""
        return f"{self.done:,}{unit}" if unit else f"step {self.done:,}"


def duration(seconds: float) -> str:
    """``42 s``, ``2 min 05 s`` or ``1 h 02 min``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def plain_line(state: State, elapsed: float) -> str:
    """``[mcsim] evaluating: 3/20 households (15%), 42 s elapsed; detail``."""
    count = state.count()
    if count and state.total > 0:
        count += f" ({100 * min(state.done, state.total) // state.total}%)"
    head = f"[mcsim] {state.what}: {count}" if count else f"[mcsim] {state.what}"
    tail = f"; {state.detail}" if state.detail else ""
    return f"{head}, {duration(elapsed)} elapsed{tail}"


def interval_from_env() -> float:
    """Seconds between plain lines: ``MCSIM_PROGRESS_INTERVAL`` when it is a number >= 0, else 10."""
    try:
        value = float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL))
    except ValueError:
        return DEFAULT_INTERVAL
    return value if value >= 0.0 else DEFAULT_INTERVAL


class _TimeRemaining(_TimeRemainingColumn):
    """Time remaining, left blank for phases of unknown length."""

    def render(self, task: Task) -> Text:
        """The estimate, or nothing without a total."""
        return super().render(task) if task.total is not None else Text("")


class Reporter:
    """Progress of one command on ``stream`` (standard error): a context manager and an ``OnProgress``.

    :param what: the phase shown until the first report.
    :param live: a rich bar (True) or plain lines (False); by default, whether ``stream`` is a terminal.
    :param interval: seconds between plain lines (default: ``MCSIM_PROGRESS_INTERVAL``, else 10);
        0 prints one at every report.
    :param clock: monotonic seconds (a fake one in tests).
    :param heartbeat: in plain mode, also print on time while no report comes (a thread).
    """

    def __init__(self, what: str = "starting", *, stream: TextIO | None = None, live: bool | None = None,
                 interval: float | None = None, clock: Callable[[], float] = time.monotonic,
                 heartbeat: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = _is_terminal(self.stream) if live is None else live
        self.interval = interval_from_env() if interval is None else interval
        self.clock = clock
        self.console = Console(file=self.stream, force_terminal=self.live or None)
        self.lines = 0
        self._state = State(what)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeat = heartbeat and not self.live and self.interval > 0
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._shown: TaskID | None = None
        self._started = self._last = 0.0

    def __enter__(self) -> Reporter:
        self._started = self._last = self.clock()
        if self.live:
            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(bar_width=20),
                TextColumn("{task.fields[count]}", markup=False), TextColumn("{task.fields[detail]}", markup=False),
                TimeElapsedColumn(), _TimeRemaining(), console=self.console, transient=True,
                redirect_stdout=False, redirect_stderr=False,
            )
            self._progress.start()
            self._show(self._state)
        elif self._heartbeat:
            self._thread = threading.Thread(target=self._beat, name="mcsim-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._progress is not None:
            self._progress.stop()
        elif self.lines:
            ending = "done in" if kind is None else "stopped after"
            self._write(f"[mcsim] {ending} {duration(self.clock() - self._started)}")

    def __call__(self, what: str, done: int = 0, total: int = 0, *, unit: str = "", detail: str = "") -> None:
        """Report the current phase (see :class:`mcsim.core.progress.OnProgress`)."""
        state = State(what, int(done), int(total), unit, detail)
        with self._lock:
            self._state = state
        if self._progress is not None:
            self._show(state)
        else:
            self.tick()

    @property
    def state(self) -> State:
        """The phase last reported."""
        return self._state

    def tick(self) -> None:
        """In plain mode, print the current phase if a line is due."""
        if self.live:
            return
        with self._lock:
            now = self.clock()
            if now - self._last < self.interval:
                return
            self._last = now
            self._write(plain_line(self._state, now - self._started))

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
        self.lines += 1

    def _beat(self) -> None:
        while not self._stop.wait(max(0.05, self._last + self.interval - self.clock())):
            self.tick()

    def _show(self, state: State) -> None:
        """Update the bar of ``state.what`` (a phase keeps its bar and timer when it comes back)."""
        progress = self._progress
        assert progress is not None
        fields = {"count": state.count(), "detail": state.detail}
        total = state.total or None
        task = self._tasks.get(state.what)
        if self._shown is not None and self._shown != task:
            progress.update(self._shown, visible=False)
        if task is None:
            task = self._tasks[state.what] = progress.add_task(state.what, total=total, completed=state.done, **fields)
        else:
            progress.update(task, total=total, completed=state.done, visible=True, **fields)
        self._shown = task


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
