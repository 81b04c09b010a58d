"""The narrative's LLM time budget, as a deadline every model call inside it obeys.

The writer starts no paragraph after its budget, but a call started just before the end used to
run its full per-call limit (10 s for the embedded model on 2 cores), so a 4-minute song's
narrative could take the budget plus a call. Inside `llm_deadline(seconds)` every call of the
embedded model and of the OpenAI-compatible model ends by the deadline: cut off, it returns an
empty reply (the writer keeps its draft), never an error.
"""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from typing import Iterator

# time.monotonic() by which the calls in this context must be done; None: no budget.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("linernotes_llm_deadline", default=None)


@contextmanager
def llm_deadline(seconds: float) -> Iterator[None]:
    """Every LLM call made inside ends within `seconds` of now."""
    token = _DEADLINE.set(time.monotonic() + max(seconds, 0.0))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def seconds_left(limit: float) -> float:
    """The seconds a call starting now may take: its own `limit`, or less if the budget ends sooner."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return limit
    return max(0.0, min(limit, deadline - time.monotonic()))
