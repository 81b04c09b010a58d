"""Tag-to-caption with an LLM: the feature caption rewritten by a chat model, then verified.

A caption that states anything the segment's features contradict is retried once with
the errors, then replaced by the deterministic caption. Past its time budget the
captioner stops asking the LLM and returns the deterministic caption.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from linernotes.agent.prompts import CAPTION_SYSTEM
from linernotes.agent.providers import warn
from linernotes.agent.verify import segment_scope, verify_text
from linernotes.tools.captioner import Captioner
from linernotes.tools.vocabulary import TIMESTAMP_PATTERN
from linernotes.tools.schema import Segment, Summary

class LLMCaptioner:
    """A `Captioner` that has an LLM rewrite the captions of `base`.

    Parameters
    ----------
    model : BaseChatModel
    base : Captioner
        The deterministic captioner: its caption is the draft and the fallback.
    budget_s : float
        Total seconds of LLM time across all captions; afterwards `base` alone.
    warn : callable
        Told, once, when the LLM fails and the captioner stops using it.
    """

    def __init__(self, model: BaseChatModel, *, base: Captioner, budget_s: float = 10.0,
                 warn: Callable[[str], None] = warn) -> None:
        self.model = model
        self.warn = warn
        self.base = base
        self.budget_s = budget_s
        self.spent_s = 0.0
        self._lock = threading.Lock()

    def caption(self, segment: Segment, *, summary: Summary, previous: Segment | None) -> str:
        draft = self.base.caption(segment, summary=summary, previous=previous)
        # The LLM adds prose, not facts: the only times it may write are the draft's own.
        said = [int(match.group(1)) * 60 + int(match.group(2)) for match in TIMESTAMP_PATTERN.finditer(draft)]
        scope = segment_scope(segment, summary=summary).model_copy(update={"times": said, "references": said})
        messages = [SystemMessage(content=CAPTION_SYSTEM), HumanMessage(content=draft)]
        for _ in range(2):
            with self._lock:
                if self.spent_s >= self.budget_s:
                    return draft
            started = time.perf_counter()
            try:
                text = self.model.invoke(messages, max_tokens=60).text.strip()
            except Exception as error:  # an unreachable LLM must not cost the analysis
                self.warn(f"LLM captioning failed ({error}); using the feature captions")
                with self._lock:
                    self.budget_s = 0.0
                return draft
            with self._lock:
                self.spent_s += time.perf_counter() - started
            verification = verify_text(text, scope)
            if text and verification.ok:
                return text
            messages += [AIMessage(content=text or " "), HumanMessage(content=f"Wrong: {'; '.join(verification.errors()) or 'empty'}. Try again.")]
        return draft
