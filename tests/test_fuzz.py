"""Property-based fuzzing (hypothesis) of everything that parses outside input.

- the decoder front (`check_path` / `probe_audio`): any bytes under any audio suffix give an
  `AudioError` of one line or a sound header, never another exception;
- the cache's JSON reader: a corrupt entry is a cache miss;
- tool calls written as text (`parse_tool_calls`): never raises, returns only known tools
  with dict arguments;
- the chat's time parser (`parse_time`) and question resolver (`resolve`).
"""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

import pytest
from agent_fixtures import song_analysis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linernotes.agent.tool_text import parse_tool_calls
from linernotes.tools.audio import AudioError, AudioInfo, probe_audio
from linernotes.tools.vocabulary import format_time, parse_time

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SUFFIXES = [".wav", ".mp3", ".flac", ".ogg", ".aiff", ".m4a", ".txt", ""]
HEADERS = [b"", b"RIFF\xff\xff\xff\xffWAVEfmt ", b"fLaC\x00\x00\x00\x22", b"OggS\x00\x02", b"ID3\x04\x00",
           b"\xff\xfb\x90\x64", b"FORM\x00\x00\x00\x00AIFF"]
TOOLS = {"song_facts", "section_facts", "segment_at_time"}


def _riff_header(channels: int, rate: int, bits: int, data_bytes: int) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * bits // 8 & 0xFFFFFFFF,
                      channels * bits // 8 & 0xFFFF, bits)
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes & 0xFFFFFFFF) + b"WAVEfmt " + struct.pack("<I", 16)
            + fmt + b"data" + struct.pack("<I", data_bytes & 0xFFFFFFFF))


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def _probe(folder: Path, data: bytes, suffix: str) -> None:
    path = folder / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        info = probe_audio(path)
    except AudioError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert isinstance(info, AudioInfo) and info.path == path


@FAST
@given(prefix=st.sampled_from(HEADERS), body=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES))
def test_the_decoder_front_on_arbitrary_bytes(folder, prefix, body, suffix):
    _probe(folder, prefix + body, suffix)


@FAST
@given(channels=st.integers(0, 65535), rate=st.integers(0, 2**32 - 1), bits=st.sampled_from([0, 1, 8, 16, 24, 32, 64, 7]),
       data_bytes=st.integers(0, 2**32 - 1), body=st.binary(max_size=2000))
def test_the_decoder_front_on_wav_headers_with_any_fields(folder, channels, rate, bits, data_bytes, body):
    _probe(folder, _riff_header(channels, rate, bits, data_bytes) + body, ".wav")


@FAST
@given(data=st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_a_corrupt_cache_entry_is_a_miss(tmp_path_factory, data, monkeypatch_module):
    from linernotes.tools import cache

    path = cache.cache_path("f" * 64, "fuzz")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    assert cache.load("f" * 64, "fuzz") is None


def test_a_whole_cache_entry_is_a_hit(monkeypatch_module):
    from linernotes.tools import cache

    analysis = song_analysis()
    cache.save(analysis, "fuzz")
    assert cache.load(analysis.source.sha256, "fuzz") == analysis


@pytest.fixture(scope="module")
def monkeypatch_module(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINERNOTES_DATA_DIR", str(tmp_path_factory.mktemp("fuzz-data")))
        yield patch


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)
_call = st.tuples(st.sampled_from(sorted(TOOLS)) | st.text(max_size=12),
                  st.sampled_from(["arguments", "parameters", "args", "input"]),
                  _json | _json.map(json.dumps)).map(lambda parts: {"name": parts[0], parts[1]: parts[2]})
_wrapped = st.tuples(st.text(max_size=40), _call.map(json.dumps), st.text(max_size=40),
                     st.sampled_from(["<tool_call>{}</tool_call>", "```json\n{}\n```", "{}", "<tool_call>{}"])
                     ).map(lambda parts: parts[0] + parts[3].format(parts[1]) + parts[2])


def _check_calls(text: str) -> None:
    content, calls = parse_tool_calls(text, tool_names=TOOLS)
    assert isinstance(content, str)
    for call in calls:
        assert call["name"] in TOOLS and isinstance(call["args"], dict) and call["id"]


@FAST
@given(text=st.text(max_size=400))
def test_tool_call_text_never_breaks_the_parser(text):
    _check_calls(text)


@FAST
@given(text=_wrapped)
def test_tool_calls_inside_prose_are_found_or_ignored(text):
    _check_calls(text)


@FAST
@given(arguments=st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=3),
       before=st.text(max_size=30).filter(lambda text: "{" not in text and "`" not in text and "<" not in text))
def test_a_well_formed_call_is_always_found(arguments, before):
    text = f'{before}<tool_call>{json.dumps({"name": "song_facts", "arguments": arguments})}</tool_call>'
    _, calls = parse_tool_calls(text, tool_names=TOOLS)
    assert [(call["name"], call["args"]) for call in calls] == [("song_facts", arguments)]


@FAST
@given(seconds=st.floats(min_value=0, max_value=999 * 60 + 59, allow_nan=False))
def test_parse_time_inverts_format_time(seconds):
    assert parse_time(format_time(seconds)) == int(seconds)


@FAST
@given(text=st.text(max_size=30))
def test_parse_time_accepts_only_timestamps(text):
    try:
        value = parse_time(text)
    except ValueError as error:
        assert "not an m:ss timestamp" in str(error)
    else:
        assert value >= 0 and ":" in text


@pytest.fixture(scope="module")
def library():
    resolve_module = pytest.importorskip("linernotes.agent.resolve")
    from linernotes.agent.library import Library

    return resolve_module, Library.of_analyses([song_analysis()])


_QUESTION_WORDS = st.sampled_from(["what", "key", "tempo", "at", "0:45", "chorus", "Fixture Song", "?", "and",
                                   "the", "bpm", "loudest", "99:99", "-1:00", "second", "verse", "its", "song"])


@FAST
@given(text=st.text(max_size=120) | st.lists(_QUESTION_WORDS, max_size=12).map(" ".join))
def test_the_question_resolver_never_breaks(library, text):
    resolve_module, songs = library
    question = resolve_module.resolve(text, library=songs)
    follow_up = resolve_module.resolve(text, library=songs, previous=question)
    assert follow_up.text == text or follow_up.text
