"""How a long step tells its progress: (steps done, steps in all), to whoever listens.

The library only calls the function it is given; the CLI turns the calls into a
progress bar on a terminal.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """Nobody listens."""
