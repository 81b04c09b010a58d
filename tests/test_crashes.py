"""kill -9 at chosen points of `describe` and of a chat turn: the next run finds everything whole.

Each killed process patches one step to SIGKILL itself at that step: during the analysis, in
the cache write (after the temporary file, before the rename), in the store write (after the
segments, before the song record), and in the middle of a chat turn.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from cli_songs import cached_song, cli_env, describe_with

from linernotes.memory.store import SongStore
from linernotes.tools.schema import SongAnalysis

KILL = "import os, signal\ndef _die(*args, **kwargs):\n    os.kill(os.getpid(), signal.SIGKILL)\n"


def _killed(prelude: str, arguments: list[str], *, env: dict[str, str]) -> None:
    process = describe_with(KILL + textwrap.dedent(prelude), arguments, env=env)
    _, err = process.communicate(timeout=600)
    assert process.returncode == -signal.SIGKILL, err


def _cache_entries(data_dir: Path) -> list[Path]:
    folder = data_dir / "cache"
    return sorted(folder.glob("*.json")) if folder.exists() else []


def test_kills_during_analysis_and_cache_write_leave_nothing_half_written(tmp_path):
    data_dir = tmp_path / "data"
    song = tmp_path / "tone.wav"
    t = np.arange(22050 * 3) / 22050
    sf.write(song, 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2, 22050)
    env = cli_env(data_dir)
    arguments = ["describe", str(song), "--format", "json"]
    # During the analysis: as the whole-song passes start.
    _killed("import linernotes.tools.analyze as engine\nengine.run_song_passes = _die\n", arguments, env=env)
    assert _cache_entries(data_dir) == []
    # In the cache write: the temporary file is written, the rename never happens.
    _killed("import linernotes.tools.cache as cache\ncache.os.replace = _die\n", arguments, env=env)
    assert _cache_entries(data_dir) == []
    assert not (data_dir / "store").exists() or SongStore(path=data_dir / "store").list_songs() == []
    # The next run is whole: one cache entry that parses, one stored song.
    finished = subprocess.run([sys.executable, "-m", "linernotes", *arguments], capture_output=True,
                              text=True, env=env, timeout=600)
    assert finished.returncode == 0, finished.stderr
    [entry] = _cache_entries(data_dir)
    cached = SongAnalysis.model_validate_json(entry.read_text())
    assert cached.source.sha256 == json.loads(finished.stdout)["source"]["sha256"]
    [stored] = SongStore(path=data_dir / "store").list_songs()
    assert stored.id == cached.source.sha256


def test_a_kill_during_the_store_write_leaves_no_half_song(tmp_path):
    data_dir = tmp_path / "data"
    analysis = cached_song(tmp_path, name="kept", data_dir=data_dir)
    cached_song(tmp_path, name="cut", data_dir=data_dir, frequency=330.0)
    env = cli_env(data_dir)
    done = subprocess.run([sys.executable, "-m", "linernotes", "describe", str(tmp_path / "kept.wav"),
                           "--format", "json"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    # After the segments are in, before the analysis and the song record.
    _killed("""
        from linernotes.memory import store as memory
        original = memory.SongStore._remove_records
        def remove_then_arm(self, *args, **kwargs):
            removed = original(self, *args, **kwargs)
            upsert = self._segments.upsert
            def upsert_then_die(**records):
                upsert(**records)
                _die()
            self._segments.upsert = upsert_then_die
            return removed
        memory.SongStore._remove_records = remove_then_arm
    """, ["describe", str(tmp_path / "cut.wav"), "--format", "json"], env=env)
    store = SongStore(path=data_dir / "store")
    assert [song.title for song in store.list_songs()] == ["kept"]
    hits = store.search_segments("verse", k=50)
    assert hits and {hit.song_id for hit in hits} == {analysis.source.sha256}
    # Describing it again completes it, with exactly its own segments.
    again = subprocess.run([sys.executable, "-m", "linernotes", "describe", str(tmp_path / "cut.wav"),
                            "--format", "json"], capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr
    store = SongStore(path=data_dir / "store")
    assert sorted(song.title for song in store.list_songs()) == ["cut", "kept"]
    assert len(store.song_segments("cut")) == len(analysis.sections) + len(analysis.segments)


def test_a_kill_in_the_middle_of_a_chat_turn_keeps_the_thread(tmp_path):
    pytest.importorskip("langgraph.checkpoint.sqlite")
    from memory_factory import make_analysis

    from linernotes.agent.chat import ChatConfig, ChatSession

    store_path = tmp_path / "store"
    SongStore(path=store_path).add_song(make_analysis(name="song", title="Night Drive", key="A minor"))
    threads = tmp_path / "threads.sqlite"
    tests = str(Path(__file__).resolve().parent)
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {tests!r})
        from linernotes.agent import answer
        from linernotes.agent.chat import ChatConfig, ChatSession
        session = ChatSession(ChatConfig(store_path={str(store_path)!r}, llm="none",
                                         threads_file={str(threads)!r}))
        first = session.ask("What key is Night Drive in?", thread="t1")
        print(first["text"], flush=True)
        answer.Answerer.answer = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
        session.ask("And its tempo?", thread="t1")
    """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "LINERNOTES_DATA_DIR": str(tmp_path)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    first_answer = killed.stdout.strip()
    assert "A minor" in first_answer
    session = ChatSession(ChatConfig(store_path=str(store_path), llm="none", threads_file=str(threads)))
    messages = session.graph.get_state(session._config("t1")).values["messages"]
    # The completed turn is there whole; the killed one left at most its question.
    assert [message.content for message in messages[:2]] == ["What key is Night Drive in?", first_answer]
    assert len(messages) <= 3
    assert "A minor" in session.ask("What key is Night Drive in?", thread="t1")["text"]
