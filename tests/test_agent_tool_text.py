"""Text tool calls as Qwen2.5-Coder writes them become real tool calls."""

from linernotes.agent.tool_text import parse_tool_calls

TOOLS = {"section_facts", "song_facts"}


def test_tagged_call():
    content, calls = parse_tool_calls(
        '<tool_call>\n{"name": "section_facts", "arguments": {"section_index": 2}}\n</tool_call>', tool_names=TOOLS)
    assert content == ""
    assert [(call["name"], call["args"]) for call in calls] == [("section_facts", {"section_index": 2})]
    assert calls[0]["id"]


def test_several_tagged_calls_and_prose():
    content, calls = parse_tool_calls(
        'Let me check.\n<tool_call>{"name": "song_facts", "arguments": {}}</tool_call>\n'
        '<tool_call>{"name": "section_facts", "arguments": {"section_index": 0}}</tool_call>', tool_names=TOOLS)
    assert content == "Let me check."
    assert [call["name"] for call in calls] == ["song_facts", "section_facts"]


def test_fenced_json_call_with_string_arguments():
    _, calls = parse_tool_calls(
        '```json\n{"name": "section_facts", "arguments": "{\\"section_index\\": 1}"}\n```', tool_names=TOOLS)
    assert calls[0]["args"] == {"section_index": 1}


def test_bare_json_with_parameters_key_and_unclosed_tag():
    assert parse_tool_calls('{"name": "song_facts", "parameters": {}}', tool_names=TOOLS)[1][0]["name"] == "song_facts"
    _, calls = parse_tool_calls('<tool_call>{"name": "section_facts", "arguments": {"section_index": 3}}',
                                tool_names=TOOLS)
    assert calls[0]["args"] == {"section_index": 3}


# Verbatim replies of Qwen2.5-Coder-1.5B-Instruct Q4_K_M (llama.cpp, temperature 0.3) given
# the analysis tools in its system prompt.
QWEN_FENCED = '```json\n{\n  "name": "section_facts",\n  "arguments": {\n    "section_index": 2\n  }\n}\n```'
QWEN_PROSE_THEN_FENCED = (
    "To determine what plays at 0:45 in the song, I'll use the `segment_at_time` function with the time "
    "0.45 seconds. Here's the result:\n\n```json\n{\n  \"name\": \"segment_at_time\",\n  \"arguments\": "
    "{\n    \"time_s\": 0.45\n  }\n}\n```"
)


def test_real_qwen_outputs():
    content, calls = parse_tool_calls(QWEN_FENCED, tool_names=TOOLS | {"segment_at_time"})
    assert content == "" and calls[0]["name"] == "section_facts" and calls[0]["args"] == {"section_index": 2}
    content, calls = parse_tool_calls(QWEN_PROSE_THEN_FENCED, tool_names=TOOLS | {"segment_at_time"})
    assert content.startswith("To determine what plays at 0:45")
    assert [(call["name"], call["args"]) for call in calls] == [("segment_at_time", {"time_s": 0.45})]


def test_plain_prose_and_unknown_tools_are_not_calls():
    prose = "The chorus lands at 0:40 in A minor."
    assert parse_tool_calls(prose, tool_names=TOOLS) == (prose, [])
    content, calls = parse_tool_calls('{"name": "rm_rf", "arguments": {}}', tool_names=TOOLS)
    assert calls == [] and "rm_rf" in content
