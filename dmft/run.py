"""The run context a model's ``solve`` receives: progress bar, checkpoints and resume.

Drivers (``dmft.march``, ``dmft.fixedpoint``) call ``restore`` once and ``checkpoint`` after
each unit of work; ``checkpoint`` writes at most every ``checkpoint_every`` seconds (0: after
every unit) and not more often than ten times the duration of the previous checkpoint (so
large states cost at most ~10% of the run), atomically, and always when the run is
interrupted (Ctrl-C).  The checkpoint is keyed by a fingerprint of model and parameters, so
``resume`` refuses a checkpoint of another run.
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from . import store


class Run:
    def __init__(self, key: str, *, progress: bool = False, checkpoint_path=None,
                 checkpoint_every: float = 60.0, resume: bool = False, description: str = ""):
        self.key = key
        self.show_progress = progress
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.checkpoint_every = checkpoint_every
        self.resume = resume
        self.description = description
        self._last_checkpoint = time.monotonic()
        self._cost = 0.0  # seconds the last checkpoint took
        self.resumed_from = 0
        self.stages: list[Run] = []

    def progress(self, total: int, initial: int = 0, unit: str = "row"):
        """A tqdm bar on stderr that appears only if the run lasts over a second."""
        return tqdm(total=total, initial=initial, unit=unit, desc=self.description,
                    file=sys.stderr, delay=1.0, disable=not self.show_progress, leave=False)

    def stage(self, name: str) -> "Run":
        """A run for one stage of a multi-stage solve: its own key and checkpoint file
        (``<checkpoint>.<name>``), the other settings shared."""
        path = self.checkpoint_path.with_name(f"{self.checkpoint_path.name}.{name}") if self.checkpoint_path else None
        stage = Run(f"{self.key}#{name}", progress=self.show_progress, checkpoint_path=path,
                    checkpoint_every=self.checkpoint_every, resume=self.resume,
                    description=f"{self.description} {name}".strip())
        self.stages.append(stage)
        return stage

    def restore(self) -> tuple[int, dict[str, np.ndarray]] | None:
        """(progress, state) from the checkpoint, if resuming and one exists."""
        if not (self.resume and self.checkpoint_path and self.checkpoint_path.exists()):
            return None
        done, state = store.read_checkpoint(self.checkpoint_path, self.key)
        self.resumed_from = done
        return done, state

    def checkpoint(self, done: int, state: dict[str, Any], *, force: bool = False) -> None:
        """Save ``state`` after ``done`` units of work if the interval has passed (or ``force``)."""
        if self.checkpoint_path is None:
            return
        now = time.monotonic()
        # at most every checkpoint_every seconds, and at most ~10% of the time on checkpoints
        if force or now - self._last_checkpoint >= max(self.checkpoint_every, 10 * self._cost):
            store.write_checkpoint(self.checkpoint_path, self.key, done, state)
            self._last_checkpoint = time.monotonic()
            self._cost = self._last_checkpoint - now


class _Interrupt:
    requested = False


@contextlib.contextmanager
def deferred_interrupt():
    """Hold Ctrl-C until the caller reaches a consistent point: inside the block SIGINT only
    sets ``.requested``; the caller checks it between units of work (then checkpoints and
    raises KeyboardInterrupt).  Outside the main thread (where signals cannot be caught) the
    block is a no-op and ``.requested`` stays False."""
    flag = _Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag.requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
