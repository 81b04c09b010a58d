"""Tool calls written as text: small local models (Qwen2.5-Coder) emit JSON instead of
native tool calls. This turns those texts into real LangChain tool calls.

Handled forms: `<tool_call>{...}</tool_call>` (one or more), a fenced ```json block, or a
bare JSON object or list; each call is `{"name": ..., "arguments": {...}}` (also
"parameters"/"args", and arguments given as a JSON string).
"""

from __future__ import annotations

import json
import re
import uuid

from langchain_core.messages.tool import ToolCall

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_FENCED = re.compile(r"```(?:json|tool_call|tool)?\s*(.*?)```", re.S)


def _as_call(candidate: object, known: set[str] | None) -> ToolCall | None:
    if not isinstance(candidate, dict):
        return None
    if "function" in candidate and isinstance(candidate["function"], dict):
        candidate = candidate["function"]
    name = candidate.get("name") or candidate.get("tool")
    arguments = next((candidate[key] for key in ("arguments", "parameters", "args", "input") if key in candidate), {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            return None
    if not isinstance(name, str) or not isinstance(arguments, dict):
        return None
    if known is not None and name not in known:
        return None
    return ToolCall(name=name, args=arguments, id=f"call_{uuid.uuid4().hex[:12]}", type="tool_call")


def _load(text: str) -> object | None:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # Models sometimes add a trailing remark after the JSON: keep the first value.
        try:
            value, _ = json.JSONDecoder().raw_decode(text.strip())
            return value
        except json.JSONDecodeError:
            return None


def _calls_in(value: object, known: set[str] | None) -> list[ToolCall]:
    items = value if isinstance(value, list) else [value]
    calls = [_as_call(item, known) for item in items]
    return [call for call in calls if call is not None]


def parse_tool_calls(text: str, *, tool_names: set[str] | None = None) -> tuple[str, list[ToolCall]]:
    """Split model output into its prose and the tool calls written in it.

    Parameters
    ----------
    text : str
        The raw completion.
    tool_names : set of str, optional
        When given, calls to other names are ignored (left in the prose).

    Returns
    -------
    content : str
        The text with the recognised calls removed.
    calls : list of ToolCall
    """
    calls: list[ToolCall] = []
    content = text
    for pattern in (_TAGGED, _FENCED):
        for match in pattern.finditer(text):
            found = _calls_in(_load(match.group(1)), tool_names)
            if found:
                calls += found
                content = content.replace(match.group(0), "")
        if calls:
            return content.strip(), calls
    stripped = text.strip()
    if stripped[:1] in "{[":
        found = _calls_in(_load(stripped), tool_names)
        if found:
            return "", found
    return text.strip(), []
