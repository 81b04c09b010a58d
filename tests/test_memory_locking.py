"""Sharing a store between processes: reopen, concurrent writers, a writer killed mid-write."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from memory_factory import make_analysis

from linernotes.memory.store import SongStore

TESTS_DIR = Path(__file__).resolve().parent


def _python(code: str, *, check: bool = True) -> subprocess.CompletedProcess:
    """Run `code` in a new interpreter that can import the test helpers."""
    script = f"import sys\nsys.path.insert(0, {str(TESTS_DIR)!r})\n" + textwrap.dedent(code)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_a_new_process_reopens_the_store(tmp_path):
    store = SongStore(path=tmp_path)
    store.add_song(make_analysis(name="kept", title="Kept", key="D major"))
    result = _python(f"""
        import chromadb
        from chromadb.config import Settings
        from linernotes.memory.embedding import MiniLMEmbeddingFunction
        from linernotes.memory.store import SongStore
        store = SongStore(path={str(tmp_path)!r})
        print(store.get_song("Kept").key)
        print(store.search_segments("distorted guitar solo", k=1)[0].segment.label)
        # Raw Chroma rebuilds the registered embedder from the stored config and embeds
        # query text with it (its own default would try to download a model).
        client = chromadb.PersistentClient(
            path={str(tmp_path)!r}, settings=Settings(anonymized_telemetry=False))
        segments = client.get_collection("segments")
        print(type(segments.configuration["embedding_function"]).__name__)
        found = segments.query(query_texts=["distorted guitar solo"], n_results=1)
        print(found["metadatas"][0][0]["label"])
    """)
    assert result.stdout.split() == ["D", "major", "solo", "MiniLMEmbeddingFunction", "solo"]


def test_a_reader_sees_what_another_process_wrote(tmp_path):
    store = SongStore(path=tmp_path)
    store.add_song(make_analysis(name="first"))
    assert len(store.search_segments("verse", k=50)) == 5
    _python(f"""
        from memory_factory import make_analysis
        from linernotes.memory.store import SongStore
        SongStore(path={str(tmp_path)!r}).add_song(make_analysis(name="second"))
    """)
    assert len(store.search_segments("verse", k=50)) == 10
    assert len(store.search_segments("verse", song="second", k=50)) == 5


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    writer = f"""
        import sys
        from memory_factory import make_analysis
        from linernotes.memory.store import SongStore
        store = SongStore(path={str(tmp_path)!r})
        for index in range(4):
            store.add_song(make_analysis(name=f"{{sys.argv[1]}}-{{index}}", duration_s=40.0))
    """
    script = f"import sys\nsys.path.insert(0, {str(TESTS_DIR)!r})\n" + textwrap.dedent(writer)
    # Both start on an empty directory: creating the store is raced too.
    writers = [subprocess.Popen([sys.executable, "-c", script, name], stderr=subprocess.PIPE)
               for name in ("left", "right")]
    for process in writers:
        assert process.wait() == 0, process.stderr.read().decode()
    store = SongStore(path=tmp_path)
    songs = store.list_songs()
    assert len(songs) == 8
    assert all(song.window_count == 4 and song.section_count == 2 for song in songs)
    for song in songs:
        assert len(store.song_segments(song.id)) == 6
        assert len(store.search_segments("solo", song=song.id, k=10)) == 6


def test_a_write_killed_midway_leaves_the_store_usable(tmp_path):
    store = SongStore(path=tmp_path)
    store.add_song(make_analysis(name="safe"))
    killed = _python(f"""
        import os, signal
        from memory_factory import make_analysis
        from linernotes.memory.store import SongStore
        store = SongStore(path={str(tmp_path)!r})
        # Die the moment the segments are in, before the song's other records.
        original = store._segments.upsert
        def upsert_then_die(**records):
            original(**records)
            os.kill(os.getpid(), signal.SIGKILL)
        store._segments.upsert = upsert_then_die
        store.add_song(make_analysis(name="interrupted"))
    """, check=False)
    assert killed.returncode == -9
    assert [song.path for song in store.list_songs()] == ["/music/safe.wav"]
    hits = store.search_segments("verse", k=20)
    assert {hit.song_id for hit in hits} == {store.get_song("safe").id}
    store.add_song(make_analysis(name="interrupted"))
    assert len(store.list_songs()) == 2
    assert len(store.song_segments("interrupted")) == 5
