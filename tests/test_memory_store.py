"""The song store against real Chroma: embedded on disk and a Chroma server on 127.0.0.1.

The server is `$LINERNOTES_TEST_CHROMA_URL` when CI started one (.ci/chroma_server.sh),
else one the session starts itself with the same script (tests/conftest.py).
"""

from __future__ import annotations

import pytest
from memory_factory import make_analysis, render

from linernotes.memory import store as store_module
from linernotes.memory.documents import segment_document
from linernotes.memory.store import AmbiguousSong, NoAudioEmbedding, SongNotFound, SongStore

PIECE = [60, 64, 67, 72, 67, 64, 65, 69]  # C major arpeggios
OTHER_PIECE = [61, 66, 70, 73, 70, 66, 68, 63]  # a different set of pitch classes


@pytest.fixture(params=["embedded", "server"])
def store(request, tmp_path, monkeypatch):
    monkeypatch.delenv("LINERNOTES_CHROMA_URL", raising=False)
    if request.param == "embedded":
        return SongStore(path=tmp_path / "store")
    url = request.getfixturevalue("server_url")
    opened = SongStore(url=url)
    # The test server is ours alone: start every test from an empty library.
    for collection in opened._client.list_collections():
        opened._client.delete_collection(collection.name)
    return SongStore(url=url)


@pytest.fixture(scope="module")
def rendered_songs():
    """Two renders of one piece (different timbres) and a render of another piece."""
    renders = {
        "piece-bright": render(PIECE, harmonics=[1.0, 0.6, 0.4, 0.2]),
        "piece-mellow": render(PIECE, harmonics=[1.0, 0.15]),
        "other-piece": render(OTHER_PIECE, harmonics=[1.0, 0.6, 0.4, 0.2]),
    }
    return [make_analysis(name=name, samples=samples) for name, samples in renders.items()]


def test_round_trip(store):
    analysis = make_analysis(name="round", title="Round Trip", key="E minor", bpm=98.0)
    song_id = store.add_song(analysis)
    assert song_id == analysis.source.sha256
    [record] = store.list_songs()
    assert (record.title, record.key, record.bpm) == ("Round Trip", "E minor", 98.0)
    assert (record.section_count, record.window_count) == (2, 3)
    assert store.get_song("round trip").id == song_id
    assert store.get_song(song_id[:10]).id == song_id
    assert store.get_song("round.wav").id == song_id
    assert store.get_analysis(song_id) == analysis
    # Segments come back as the analysis's own `Segment`s.
    assert store.song_segments(song_id) == [*analysis.sections, *analysis.segments]
    assert store.get_song("nothing like it") is None


def test_reinsert_replaces_and_forget_removes(store):
    first = make_analysis(name="again", sections=(("intro", "soft"), ("verse", "a"), ("outro", "b")))
    store.add_song(first)
    shorter = make_analysis(name="again", duration_s=20.0, key="A minor")
    store.add_song(shorter)
    store.add_song(shorter)
    [record] = store.list_songs()
    assert record.key == "A minor"
    assert len(store.song_segments("again")) == 2 + 2  # two sections, two windows: none left over
    store.add_song(make_analysis(name="keeper"))
    removed = store.forget("again")
    assert removed == 1 + 4 + 1  # song, segments, analysis (no audio embeddings here)
    assert [song.path for song in store.list_songs()] == ["/music/keeper.wav"]
    assert store.forget("again") == 0
    assert store.get_analysis("again") is None


def test_segment_at_and_sections(store):
    store.add_song(make_analysis(name="timeline", duration_s=30.0))
    window = store.segment_at("timeline", 12.5)
    assert (window.kind, window.start, window.end, window.label) == ("window", 10.0, 20.0, "verse")
    assert store.segment_at("timeline", 20.0).start == 20.0  # a boundary belongs to the later one
    assert store.segment_at("timeline", 99.0) is None
    solo = store.section_segments("timeline", 1)
    assert [(segment.kind, segment.start) for segment in solo] == [("section", 15.0), ("window", 20.0)]
    with pytest.raises(SongNotFound):
        store.section_segments("missing", 0)


def test_search_with_filters(store):
    store.add_song(make_analysis(
        name="metal", key="E minor", vocals=False, genres=("metal",),
        sections=(("verse", "chugging palm-muted riff"), ("solo", "screaming distorted guitar solo")),
    ))
    store.add_song(make_analysis(
        name="ballad", key="E minor", vocals=True, genres=("pop",),
        sections=(("verse", "tender piano and voice"), ("solo", "distorted guitar solo over voice")),
    ))
    store.add_song(make_analysis(
        name="folk", key="G major", vocals=False, genres=("folk",),
        sections=(("verse", "fingerpicked acoustic guitar"), ("solo", "distorted guitar solo")),
    ))
    hits = store.search_segments(
        "distorted guitar solo", where={"key": "E minor", "vocals": False, "kind": "section"}, k=3
    )
    assert [hit.segment.label for hit in hits] == ["solo", "verse"]
    assert all(hit.segment.key == "E minor" and not hit.segment.vocals.present for hit in hits)
    assert hits[0].score > hits[1].score
    pop = store.search_segments("guitar", where={"genres": {"$contains": "pop"}}, k=10)
    assert pop and {hit.song_id for hit in pop} == {store.get_song("ballad").id}
    in_folk = store.search_segments("piano and voice", song="folk", k=2)
    assert {hit.song_id for hit in in_folk} == {store.get_song("folk").id}
    # A segment's own text finds that segment first, and it comes back whole.
    target = store.segment_at("ballad", 5.0)
    [best] = store.search_segments(segment_document(target), k=1)
    assert (best.song_id, best.segment) == (store.get_song("ballad").id, target)
    assert best.score == pytest.approx(1.0, abs=1e-3)


def test_songs_like_a_description(store):
    store.add_song(make_analysis(name="calm", genres=("ambient",), moods=("calm", "dreamy"),
                                 instruments=("synthesizer", "pad")))
    store.add_song(make_analysis(name="loud", genres=("punk",), moods=("angry", "aggressive"),
                                 instruments=("electric guitar", "drums")))
    hits = store.songs_like("dreamy ambient synthesizer pads", k=2)
    assert [hit.song.path for hit in hits] == ["/music/calm.wav", "/music/loud.wav"]


def test_sounds_like_orders_renders_of_the_same_piece_first(store, rendered_songs):
    for analysis in rendered_songs:
        store.add_song(analysis)
    hits = store.similar_songs("piece-bright", k=5)
    assert [hit.song.path for hit in hits] == ["/music/piece-mellow.wav", "/music/other-piece.wav"]
    assert hits[0].score > hits[1].score
    windows = store.similar_segments("piece-bright", 15.0, k=3, other_songs_only=True)
    assert windows[0].song_id == store.get_song("piece-mellow").id
    assert all(hit.song_id != store.get_song("piece-bright").id for hit in windows)
    bright = store.get_song("piece-bright").id
    anchor = store.segment_at("piece-bright", 15.0)
    near = store.similar_segments("piece-bright", 15.0, k=10)
    assert (bright, anchor.kind, anchor.index) not in {
        (hit.song_id, hit.segment.kind, hit.segment.index) for hit in near}
    assert [hit.score for hit in near] == sorted((hit.score for hit in near), reverse=True)


def test_missing_audio_embeddings_and_ambiguous_names(store):
    store.add_song(make_analysis(name="no-vectors", title="Same"))
    store.add_song(make_analysis(name="other", title="Same"))
    with pytest.raises(NoAudioEmbedding):
        store.similar_songs("no-vectors")
    with pytest.raises(NoAudioEmbedding):
        store.similar_segments("no-vectors", 3.0)
    with pytest.raises(AmbiguousSong):
        store.get_song("Same")


def test_filtering_nearest_neighbours_here_equals_chromas_own_filter(store, monkeypatch):
    """Post-filtering an oversampled search, or falling back to Chroma's filter, finds the same."""
    for name, key, vocals in (("a", "E minor", False), ("b", "E minor", True), ("c", "G major", False)):
        store.add_song(make_analysis(name=name, key=key, vocals=vocals, genres=("rock",),
                                     sections=(("verse", "guitar riff"), ("solo", "guitar solo"))))
    filters = [{"key": "E minor", "vocals": False}, {"genres": {"$contains": "rock"}},
               {"key": {"$ne": "G major"}, "kind": "window"}]
    post_filtered = [store.search_segments("guitar solo", where=where, k=4) for where in filters]
    monkeypatch.setattr(store_module, "OVERSAMPLE", 1)  # too few candidates: Chroma filters
    by_chroma = [store.search_segments("guitar solo", where=where, k=4) for where in filters]
    for mine, chromas in zip(post_filtered, by_chroma):
        assert mine and [(hit.song_id, hit.segment) for hit in mine] == [
            (hit.song_id, hit.segment) for hit in chromas]
