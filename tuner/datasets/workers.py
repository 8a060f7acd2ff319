"""Worker processes that never outlive the process that started them.

A pool's workers wait on a queue that their parent feeds; when the parent is killed (SIGKILL,
or a crash) nothing tells them, and with fork they even hold the queue's write end themselves,
so they would wait forever (two ~117 MB workers were left behind by a killed ``validate``).
:func:`die_with_parent` runs in each worker as the pool's initializer.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

# From <linux/prctl.h>: deliver a signal to this process when its parent thread exits.
PR_SET_PDEATHSIG = 1
# How often the portable watcher looks for its parent (where prctl is not available).
WATCH_SECONDS = 0.5


def die_with_parent(parent_pid: int) -> None:
    """Make this worker exit as soon as ``parent_pid`` is gone.

    On Linux the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``);
    elsewhere, and as a second line, a daemon thread checks ``os.getppid()``, which changes when
    the parent dies and the worker is adopted. Ctrl-C is left to the parent, which stops its pool
    in order (otherwise every worker prints its own KeyboardInterrupt traceback).
    """
    with contextlib.suppress(ValueError):  # not the main thread: only the parent's matters
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before the line above armed the signal.
    if os.getppid() != parent_pid:
        os._exit(1)
    watcher = threading.Thread(
        target=_watch, args=(parent_pid,), name="tuner-parent-watch", daemon=True
    )
    watcher.start()


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_SECONDS)
    # No cleanup to do: workers write nothing; exit at once, whatever the main thread is doing.
    os._exit(1)
