"""How the engine's networks use the CPU: one kernel thread per detector, side by side.

`tools.analyze` runs the detectors on a pool of workers; each worker's kernels (torch,
BLAS, OpenMP, ONNX Runtime) get one thread, so no more threads compete than there are
workers. On 2 cores, multi-threaded kernels inside a two-worker pool cost a 4-minute song
9.5 s of system time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
    """
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    return onnxruntime.InferenceSession(str(model), sess_options=options,
                                        providers=["CPUExecutionProvider"])
