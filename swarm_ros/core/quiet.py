"""Mute what C libraries print (pybullet's build banner, qpOASES' copyright notice) on a file
descriptor, so CLI output (JSON, tables) and node logs stay clean."""
from __future__ import annotations

import ctypes
import os
import sys
from contextlib import contextmanager


@contextmanager
def muted(fd: int):
    """fd 1 or 2 goes to /dev/null for the duration; C's stdio buffers are flushed inside."""
    stream = sys.stdout if fd == 1 else sys.stderr
    stream.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            try:
                yield
            finally:
                ctypes.CDLL(None).fflush(None)
    finally:
        os.dup2(saved, fd)
        os.close(saved)
