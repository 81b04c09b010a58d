"""Reading evalset ground truth in each folder's own format, from a tiny hand-made evalset."""

import json

import numpy as np
import pytest
import soundfile as sf

from linernotes.evals.groundtruth import discover, load_groundtruth
from linernotes.evals.metrics import Span

RATE = 8000


def write_song(folder, name, fields, *, seconds=1.0):
    folder.mkdir(parents=True, exist_ok=True)
    tone = 0.1 * np.sin(2 * np.pi * 440.0 * np.arange(int(seconds * RATE)) / RATE)
    sf.write(folder / f"{name}.wav", tone.astype(np.float32), RATE)
    (folder / f"{name}.gt.json").write_text(json.dumps({"file": f"{name}.wav", **fields}))
    return folder / f"{name}.gt.json"


@pytest.fixture
def evalset(tmp_path):
    write_song(tmp_path / "symbolic", "chorale", {
        "duration_s": 4.0, "tempo_bpm": 80, "key": "F# minor",
        "beats_s": [0.0, 0.75, 1.5, 2.25], "downbeats": [{"measure": 0, "time": 0.0},
                                                        {"measure": 1, "time": 3.0}],
        "sections": None, "chords": None, "vocals": False})
    write_song(tmp_path / "synthetic", "pop", {
        "duration_s": 8.0, "tempo_bpm": 120,
        "key_changes": [{"key": "C major", "start": 0.0, "end": 4.0},
                        {"key": "A minor", "start": 4.0, "end": 8.0}],
        "sections": [{"label": "verse", "start": 0.0, "end": 4.0, "key": "C major"},
                     {"label": "bridge", "start": 4.0, "end": 8.0, "key": "A minor"}],
        "chords": [{"start": 0.0, "end": 4.0, "label": "C:maj", "degree": "1"},
                   {"start": 4.0, "end": 8.0, "label": "A:min", "degree": "6"}],
        "beats_s": [0.0, 0.5], "downbeats_s": [0.0]})
    write_song(tmp_path / "github", "speech", {
        "duration_s": 1.0, "music": "none (speech only) - negative control"})
    write_song(tmp_path / "github", "rubato", {
        "duration_s": 1.0, "key": "E minor per the score (arrangement's key not verified)",
        "tempo": "not constant (rubato)"})
    write_song(tmp_path / "vocals", "mix", {
        "duration_s": 3.0, "voice_active": [[0.5, 1.5], [2.0, 2.5]], "music_regions": [[0, 3]]})
    (tmp_path / "github" / "orphan.gt.json").write_text(json.dumps({"file": "gone.wav", "duration_s": 1}))
    return tmp_path


def test_discover_finds_every_file_with_audio_in_path_order(evalset):
    names = [truth.label for truth in discover(evalset)]
    assert names == ["github/rubato", "github/speech", "symbolic/chorale", "synthetic/pop", "vocals/mix"]
    assert len(discover(evalset, limit=2)) == 2


def test_a_score_render_gives_key_tempo_beats_and_measure_downbeats(evalset):
    truth = load_groundtruth(evalset / "symbolic" / "chorale.gt.json", root=evalset)
    annotation = truth.annotation
    assert truth.label == "symbolic/chorale" and truth.audio_path.name == "chorale.wav"
    assert load_groundtruth(evalset / "symbolic" / "chorale.gt.json", root=evalset / "symbolic").label == "chorale"
    assert (annotation.key, annotation.bpm) == ("F# minor", 80.0)
    assert annotation.beats == [0.0, 0.75, 1.5, 2.25]
    assert annotation.downbeats == [0.0, 3.0]
    assert annotation.chords is None and annotation.sections is None and annotation.key_spans is None
    assert annotation.is_music is True


def test_a_synthetic_song_gives_keys_over_time_sections_and_chords(evalset):
    annotation = load_groundtruth(evalset / "synthetic" / "pop.gt.json").annotation
    assert annotation.key is None
    assert annotation.key_spans == [Span(start=0.0, end=4.0, label="C major"),
                                    Span(start=4.0, end=8.0, label="A minor")]
    assert [s.label for s in annotation.sections] == ["verse", "bridge"]
    assert [c.label for c in annotation.chords] == ["C:maj", "A:min"]
    assert annotation.downbeats == [0.0]


def test_controls_and_prose_only_fields_leave_the_truth_unknown(evalset):
    speech = load_groundtruth(evalset / "github" / "speech.gt.json").annotation
    assert speech.is_music is False and speech.key is None and speech.bpm is None
    rubato = load_groundtruth(evalset / "github" / "rubato.gt.json").annotation
    # An unverified key and a tempo given only in words are not scored.
    assert rubato.key is None and rubato.bpm is None and rubato.is_music is True


def test_voice_mixes_give_voice_activity_and_count_as_music(evalset):
    mix = load_groundtruth(evalset / "vocals" / "mix.gt.json").annotation
    assert mix.voice_active == [(0.5, 1.5), (2.0, 2.5)]
    assert mix.is_music is True


def test_a_missing_audio_file_is_skipped(evalset):
    assert load_groundtruth(evalset / "github" / "orphan.gt.json") is None


def test_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        discover(tmp_path / "nowhere")


def test_a_lead_sheets_figures_give_the_sevenths_its_triad_labels_leave_out(tmp_path):
    figures = [("C:maj", "C7"), ("Bb:maj", "B-"), ("A:min", "Am7"), ("F:maj", "Fmaj7"),
               ("C:maj", "Cm"), ("G:maj", "G/B"), ("D:maj", None)]
    path = write_song(tmp_path, "lead_sheet", {"duration_s": 7.0, "chords": [
        {"start": float(i), "end": i + 1.0, "label": label, "figure": figure}
        for i, (label, figure) in enumerate(figures)]})
    labels = [c.label for c in load_groundtruth(path).annotation.chords]
    # A figure that disagrees with its label's triad, or that the table does not read, changes nothing.
    assert labels == ["C:7", "Bb:maj", "A:min7", "F:maj7", "C:maj", "G:maj", "D:maj"]
