"""Processes describing into one store at once: 4 different songs and 2 of the same song.

Nothing is lost and nothing is duplicated, in an embedded store (shared through its file
lock) and in a Chroma server. The analyses are cached beforehand, so each `describe` does the
real narrative and store write and skips only the engine.
"""

from __future__ import annotations

from cli_songs import cached_song, cli_env, describe_with

from linernotes.memory.store import SongStore

DIFFERENT = ["alpha", "bravo", "charlie", "delta"]
SAME = "echo"


def _race(tmp_path, *, chroma_url: str | None = None) -> dict[str, object]:
    data_dir = tmp_path / "data"
    analyses = {name: cached_song(tmp_path, name=name, data_dir=data_dir, frequency=200.0 + 50 * position)
                for position, name in enumerate([*DIFFERENT, SAME])}
    env = cli_env(data_dir, chroma_url=chroma_url)
    names = [*DIFFERENT, SAME, SAME]
    processes = [describe_with("", ["describe", str(tmp_path / f"{name}.wav"), "--format", "json"], env=env)
                 for name in names]
    for process in processes:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
    return analyses


def _assert_whole(store: SongStore, analyses: dict) -> None:
    songs = store.list_songs()
    assert sorted(song.title for song in songs) == sorted(analyses)  # none lost, none twice
    for song in songs:
        analysis = analyses[song.title]
        assert song.id == analysis.source.sha256
        segments = store.song_segments(song.id)
        assert len(segments) == len(analysis.sections) + len(analysis.segments)
        assert len({(segment.kind, segment.index) for segment in segments}) == len(segments)
        assert store.get_analysis(song.id).source.sha256 == song.id


def test_six_processes_into_one_embedded_store(tmp_path):
    analyses = _race(tmp_path)
    _assert_whole(SongStore(path=tmp_path / "data" / "store"), analyses)


def test_six_processes_into_one_chroma_server(tmp_path, server_url):
    url = server_url
    opened = SongStore(url=url)
    for collection in opened._client.list_collections():  # the test server is ours alone
        opened._client.delete_collection(collection.name)
    analyses = _race(tmp_path, chroma_url=url)
    _assert_whole(SongStore(url=url), analyses)
