"""An X client held connected, so that Xvfb never resets in the middle of a measurement."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator

from tests.support.xvfb import stop_process


@contextlib.contextmanager
def never_reset(display: str) -> Iterator[None]:
    """Keep one client connected to the X server `display` until the block ends.

    Xvfb resets whenever its last client disconnects, and every `xdotool search` poll is a
    client of its own: a program connecting during such a reset is refused ("could not connect
    to display") and aborts. A search that never finds its window stays connected meanwhile.
    """
    keeper = subprocess.Popen(
        ["xdotool", "search", "--sync", "--name", "^no window is ever named this$"],
        env={**os.environ, "DISPLAY": display},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield
    finally:
        stop_process(keeper)
