"""How the engine's networks use the CPU: one kernel thread per detector, side by side.

`tools.analyze` runs the detectors on a pool of workers; each worker's kernels (torch,
BLAS, OpenMP, ONNX Runtime) get one thread, so no more threads compete than there are
workers. On 2 cores, multi-threaded kernels inside a two-worker pool cost a 4-minute song
9.5 s of system time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import onnxruntime
import torch
from threadpoolctl import threadpool_limits


@contextmanager
def one_thread_per_worker() -> Iterator[None]:
    """Torch, BLAS and OpenMP kernels run single-threaded inside the block (restored after)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # each worker thread takes this count at its first torch kernel
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(previous)


def onnx_session(model: str | Path) -> onnxruntime.InferenceSession:
    """A CPU ONNX Runtime session running its graph on the calling thread alone.

    ONNX Runtime's own pool would otherwise spin a thread per core beside the engine's workers.
    Its memory arena is off: an arena keeps the largest working set a session ever needed
    for the rest of the process (basic-pitch's 140 MB, vibenet's 50 MB) although each model
    runs once per song; plain allocations give it back and compute the same values.
    """
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    return onnxruntime.InferenceSession(str(model), sess_options=options,
                                        providers=["CPUExecutionProvider"])


def release_freed_memory() -> None:
    """Hand the memory freed so far back to the system (glibc's `malloc_trim`; else nothing).

    glibc keeps freed blocks under its (raised) mmap threshold in its heaps, one heap per
    worker thread: a finished detector's intermediates (spectra, network activations) stay
    resident and the next detector's land beside them. Trimming after each detector keeps a
    4-minute song's peak about 0.25 GB lower; it only returns whole free pages, so no value
    changes.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None
