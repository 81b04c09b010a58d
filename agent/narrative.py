"""LLM writing of narrative paragraphs and captions: rewrite a verified draft, check, retry.

The LLM never writes from nothing: it rewrites the deterministic paragraph, whose every
claim already matches the analysis, and may call tools to look facts up. Its text is
verified like any other; what fails twice is replaced by the deterministic text.
"""

from __future__ import annotations

import re
import time

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool

from linernotes.agent.outline import Outline
from linernotes.agent.prompts import RETRY_PROMPT, TRANSITIONS_SYSTEM, WRITER_SYSTEM, transitions_prompt
from linernotes.agent.verify import Scope, Verification, section_scope, song_scope, verify_text
from linernotes.agent.writer import CLASHES, Paragraph
from linernotes.tools.schema import Narrative, SongAnalysis
from linernotes.tools.vocabulary import KEY_PATTERN, TIMESTAMP_PATTERN, key_identity

def paragraph_scope(analysis: SongAnalysis, outline: Outline, paragraph: Paragraph) -> Scope:
    """The facts a paragraph may state: its section's, the song's, or the key moments'."""
    if paragraph.kind == "section":
        return section_scope(analysis, outline.sections[paragraph.section_index])
    if paragraph.kind == "moments":
        return song_scope(analysis, moments=outline.moments)
    return song_scope(analysis)


def verify_paragraph(analysis: SongAnalysis, outline: Outline, paragraph: Paragraph) -> Verification:
    return verify_text(paragraph.text, paragraph_scope(analysis, outline, paragraph))


def run_with_tools(
    model: BaseChatModel,
    messages: list[BaseMessage],
    *,
    tools: list[BaseTool] | None = None,
    max_tool_rounds: int = 2,
    max_tokens: int | None = None,
) -> str:
    """Ask `model`, running the tools it calls (up to `max_tool_rounds`), and return its text."""
    by_name = {tool.name: tool for tool in tools or []}
    bound = model.bind_tools(list(by_name.values())) if by_name else model
    options = {"max_tokens": max_tokens} if max_tokens else {}
    conversation = list(messages)
    for _ in range(max_tool_rounds + 1):
        reply = bound.invoke(conversation, **options)
        conversation.append(reply)
        if not reply.tool_calls:
            return reply.text.strip()
        for call in reply.tool_calls:
            tool = by_name.get(call["name"])
            result = tool.invoke(call["args"]) if tool else f"unknown tool {call['name']!r}"
            conversation.append(ToolMessage(content=str(result), tool_call_id=call["id"], name=call["name"]))
    # Out of tool rounds: ask once more without tools for the text itself.
    conversation.append(HumanMessage(content="Now write the paragraph."))
    return model.invoke(conversation, **options).text.strip()


def rewrite_paragraph(
    model: BaseChatModel,
    draft: str,
    *,
    errors: list[str] | None = None,
    previous: str | None = None,
    tools: list[BaseTool] | None = None,
    max_tool_rounds: int = 2,
    words: int = 80,
) -> str:
    """One LLM rewrite of a draft paragraph; with `errors`, a retry of `previous`."""
    messages: list[BaseMessage] = [
        SystemMessage(content=WRITER_SYSTEM.format(words=words)),
        HumanMessage(content=f"Draft:\n{draft}"),
    ]
    if errors and previous:
        messages += [
            HumanMessage(content=f"Your paragraph:\n{previous}"),
            HumanMessage(content=RETRY_PROMPT.format(errors="\n".join(f"- {error}" for error in errors))),
        ]
    # About 1.8 tokens a word leaves room to finish the last sentence.
    text = run_with_tools(model, messages, tools=tools, max_tool_rounds=max_tool_rounds, max_tokens=int(words * 1.8))
    return clean_paragraph(text)


_KEY_MOVE = re.compile(r"\b(?:(?:moves?|modulates?|shifts?|turns?|changes?|switches?|goes|returns?)"
                       r"(?:\s+back)?\s+(?:to|into)|into)\s+$")


def rewrite_problems(draft: str, text: str) -> list[str]:
    """What a rewrite of a section paragraph may not do that the claim checker does not catch.

    The claim checker asks whether each stated fact is true; a rewrite can also drop one (a
    key change the key moments list then names alone) or set a word against the draft's
    energy ("powerful" in a hushed intro). So every time and key of the draft must stay, a
    key move must stay a move, and no word may clash with an energy word the draft uses
    (`writer.CLASHES`). [] when the rewrite may stand.
    """
    times = dict.fromkeys(m.group(0) for m in TIMESTAMP_PATTERN.finditer(draft))
    problems = [f"drops {time}" for time in times if time not in {m.group(0) for m in TIMESTAMP_PATTERN.finditer(text)}]
    kept_keys = {key_identity(m.group(0)) for m in KEY_PATTERN.finditer(text)}
    problems += [f"drops {m.group(0)}" for m in KEY_PATTERN.finditer(draft) if key_identity(m.group(0)) not in kept_keys]
    # A key the draft moves to must still be moved to, not merely named ("the chorus, in A minor").
    moved_to = {key_identity(m.group(0)) for m in KEY_PATTERN.finditer(text) if _KEY_MOVE.search(text[:m.start()])}
    problems += [f"no longer moves to {m.group(0)}" for m in KEY_PATTERN.finditer(draft)
                 if _KEY_MOVE.search(draft[:m.start()]) and key_identity(m.group(0)) in kept_keys - moved_to]
    draft_words, words = set(re.findall(r"[a-z]+", draft.lower())), set(re.findall(r"[a-z]+", text.lower()))
    for energy, banned in CLASHES.items():
        if energy in draft_words and words & banned:
            problems.append(f"{sorted(words & banned)} beside a {energy} passage")
    return problems


_FIRST_SENTENCE = re.compile(r"(.+?[.!?])(?:\s+|$)(.*)", re.S)
_NUMBERED = re.compile(r"^\s*(?:\*\*)?(?:N\.\s*)?(\d+)[.)](?:\*\*)?\s*(.+?)\s*$")  # "1.", "N. 1.", "**1.**"


def split_opening(text: str) -> tuple[str, str]:
    """A paragraph's first sentence (its transition) and the rest."""
    match = _FIRST_SENTENCE.match(text.strip())
    return (match.group(1), match.group(2).strip()) if match else (text.strip(), "")


def rewrite_transitions(model: BaseChatModel, sentences: list[str], *, batch: int = 5,
                        budget_s: float | None = None) -> list[str | None]:
    """Every section's opening sentence rewritten, `batch` to a call; None where a line is missing.

    Batching keeps the embedded model inside its time budget: a few prompts for the whole
    song's transitions instead of a call per paragraph, each short enough to finish within
    the model's per-call limit on 2 cores. No batch starts after `budget_s` seconds.
    """
    started = time.perf_counter()
    rewritten: list[str | None] = []
    for first in range(0, len(sentences), batch):
        part = sentences[first:first + batch]
        if budget_s is not None and time.perf_counter() - started >= budget_s:
            rewritten += [None] * len(part)
            continue
        rewritten += _rewrite_batch(model, part)
    return rewritten


def _rewrite_batch(model: BaseChatModel, sentences: list[str]) -> list[str | None]:
    messages = [SystemMessage(content=TRANSITIONS_SYSTEM), HumanMessage(content=transitions_prompt(sentences))]
    words = sum(len(sentence.split()) for sentence in sentences)
    reply = model.invoke(messages, max_tokens=int(words * 2.2) + 6 * len(sentences)).text
    lines: dict[int, str] = {}
    for line in reply.splitlines():
        match = _NUMBERED.match(line)
        if match and 1 <= int(match.group(1)) <= len(sentences):
            lines.setdefault(int(match.group(1)), clean_paragraph(match.group(2)))
    return [lines.get(number) or None for number in range(1, len(sentences) + 1)]


def clean_paragraph(text: str) -> str:
    """Drop what small models wrap a paragraph in: headings, a "Here is..." line, quotes."""
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) > 1 and lines[0].rstrip().endswith(":"):
        lines = lines[1:]
    return " ".join(line.strip() for line in lines).strip().strip('"').strip()


def narrative_record(
    markdown: str,
    verifications: list[Verification],
    *,
    provider: str,
    model: str | None,
) -> Narrative:
    """The `narrative` block of the report, counting the claims of the final text."""
    checked = sum(len(verification.claims) for verification in verifications)
    failed = sum(len(verification.failures) for verification in verifications)
    return Narrative(markdown=markdown, provider=provider, model=model, verified=failed == 0,
                     claims_checked=checked, claims_failed=failed)
