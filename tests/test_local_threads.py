"""The embedded model's thread count: busy cores elsewhere count, this process's own work does not."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from linernotes.agent.local_llm import _cores_busy_elsewhere

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="reads Linux /proc/stat")


def test_another_process_spinning_is_counted():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        assert 0.7 <= _cores_busy_elsewhere() <= (os.cpu_count() or 1)
    finally:
        spinner.kill()
        spinner.wait()


def test_this_process_own_work_is_not_counted():
    """After an analysis the load average says one core is busy: it was this process's."""
    stop = threading.Event()

    def work():
        matrix = np.random.default_rng(0).random((300, 300))
        while not stop.is_set():
            matrix @ matrix

    worker = threading.Thread(target=work)
    worker.start()
    try:
        time.sleep(0.2)
        assert _cores_busy_elsewhere() < 0.5
    finally:
        stop.set()
        worker.join()
