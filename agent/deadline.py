"""The narrative's LLM time budget, as a deadline every model call inside it obeys.

The writer starts no paragraph after its budget, but a call started just before the end used to
run its full per-call limit (10 s for the embedded model on 2 cores), so a 4-minute song's
narrative could take the budget plus a call. Inside `llm_deadline(seconds)` every call of the
embedded model and of the OpenAI-compatible model ends by the deadline: cut off, it returns an
empty reply (the writer keeps its draft), never an error, and the budget counts it, so that the
writer can say the budget ran out.
"""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult


@dataclass
class Budget:
    """The deadline of the calls inside one `llm_deadline` block."""

    ends: float  # time.monotonic() by which the calls must be done
    cut: int = 0  # calls it cut off or did not let start


# The budget of the calls in this context; None: no budget.
_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("linernotes_llm_deadline", default=None)


@contextmanager
def llm_deadline(seconds: float) -> Iterator[Budget]:
    """Every LLM call made inside ends within `seconds` of now."""
    budget = Budget(ends=time.monotonic() + max(seconds, 0.0))
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def seconds_left(limit: float) -> float:
    """The seconds a call starting now may take: its own `limit`, or less if the budget ends sooner."""
    budget = _BUDGET.get()
    if budget is None:
        return limit
    return max(0.0, min(limit, budget.ends - time.monotonic()))


def out_of_time_result(model_name: str, *, by_budget: bool = True, **metadata) -> ChatResult:
    """The empty reply of a call that ran out of time, the same from every model.

    Parameters
    ----------
    model_name : str
        The model that was called.
    by_budget : bool
        The budget's deadline ended the call (counted in `Budget.cut`), not the call's own limit.
    **metadata
        More of the reply's `response_metadata` (the embedded model's `chunks`).
    """
    budget = _BUDGET.get()
    if by_budget and budget is not None:
        budget.cut += 1
    message = AIMessage(content="", response_metadata={"model_name": model_name, **metadata,
                                                       "finish_reason": "out_of_time"})
    return ChatResult(generations=[ChatGeneration(message=message)])
