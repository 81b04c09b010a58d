"""The long-form mode: a file longer than one chunk, analysed chunk by chunk in bounded memory.

A 57 s synthesised song (C major, the last chorus in D major at 42.9 s, 112 BPM) is cut
into 24 s chunks, so the tests see two seams (0:24, 0:48) and a key change inside the
second chunk, through the same describe graph a user's file goes through.
"""

from __future__ import annotations

import math
import weakref

import numpy as np
import pytest
import soundfile as sf

from linernotes.tools import longform
from linernotes.tools.analyze import AnalysisConfig
from linernotes.tools.audio import file_sha256, load_audio
from linernotes.tools.loudness import measure_loudness
from linernotes.tools.settings import CHUNK_ENV, LONGFORM_GRID_S, LONGFORM_OVERLAP_S, chunk_seconds
from linernotes.tools.synth import render_demo_song

CHUNK_S = 24.0


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """A stereo WAV of the demo song (its right channel quieter), and its ground truth."""
    samples, plan = render_demo_song(duration_s=66.0)
    path = tmp_path_factory.mktemp("long") / "long song.wav"
    sf.write(path, np.stack([samples, 0.5 * samples], axis=1), plan.sample_rate, subtype="PCM_16")
    return path, plan


@pytest.fixture(scope="module")
def chunked(song):
    """The song analysed through the describe graph with 24 s chunks, and what each chunk decoded."""
    from linernotes import analyze

    path, _ = song
    decoded: list[dict] = []
    original = longform.load_audio

    def recording(*args, **kwargs):
        # Whether every earlier chunk's signal was freed before this one is decoded.
        freed = all(entry["samples"]() is None for entry in decoded)
        audio = original(*args, **kwargs)
        decoded.append({"start": kwargs["start_s"], "seconds": audio.duration_s,
                        "samples": weakref.ref(audio.samples), "freed_before": freed})
        return audio

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CHUNK_ENV, str(CHUNK_S))
        patch.setattr(longform, "load_audio", recording)
        analysis = analyze(path, config=AnalysisConfig(use_cache=False))
    return analysis, decoded


def test_chunks_lie_on_the_grid_cover_the_file_and_overlap():
    chunks = longform.plan_chunks(7200.0, chunk_s=600.0)
    assert len(chunks) == 12 and chunks[0].start == 0.0 and math.isinf(chunks[-1].end)
    for before, after in zip(chunks, chunks[1:]):
        assert before.end == after.start and after.start % LONGFORM_GRID_S == 0
        assert after.decode_start == after.start - LONGFORM_OVERLAP_S
        assert before.decode_start + before.decode_length == before.end + LONGFORM_OVERLAP_S
    # Equal chunks: 12.5 minutes in 10-minute chunks is two chunks of about 6 minutes, not 10 + 2.5.
    halves = longform.plan_chunks(750.0, chunk_s=600.0)
    assert [chunk.start for chunk in halves] == [0.0, 376.0]
    assert chunk_seconds(20.0) == 24.0 and chunk_seconds(1.0) == 2 * LONGFORM_GRID_S


def test_only_a_file_longer_than_one_chunk_is_analysed_in_chunks(song):
    path, plan = song
    config = AnalysisConfig(use_cache=False)
    long = longform.long_file(path, config=config, chunk_s=CHUNK_S)
    assert long is not None and long.duration_s == pytest.approx(plan.duration_s, abs=0.01)
    assert longform.long_file(path, config=config, chunk_s=600.0) is None


def test_a_stretch_decodes_to_the_same_samples_as_the_whole_file(song, tmp_path):
    path, _ = song
    whole = load_audio(path)
    stretch = load_audio(path, start_s=16.0, length_s=8.0, sha256="given")
    rate = whole.sample_rate
    assert stretch.offset_s == 16.0 and stretch.sha256 == "given"
    assert len(stretch.samples) == 8 * rate
    np.testing.assert_allclose(stretch.samples, whole.samples[16 * rate: 24 * rate], atol=1e-6)
    tail = load_audio(path, start_s=48.0)
    assert tail.duration_s == pytest.approx(whole.duration_s - 48.0, abs=1e-3)


def test_ffmpeg_decodes_a_stretch_too(song, tmp_path):
    import shutil
    import subprocess

    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg is not installed")
    path, _ = song
    m4a = tmp_path / "long song.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-t", "30", str(m4a)], check=True)
    whole = load_audio(m4a)
    stretch = load_audio(m4a, start_s=8.0, length_s=8.0)
    assert stretch.duration_s == pytest.approx(8.0, abs=0.03)
    # A lossy codec: compare the stretch's level with the same stretch of the whole decode.
    rate = whole.sample_rate
    reference = whole.samples[8 * rate: 16 * rate]
    assert np.sqrt(np.mean(stretch.samples[: len(reference)] ** 2)) == pytest.approx(
        np.sqrt(np.mean(reference ** 2)), rel=0.05)


@pytest.mark.parametrize("channels", [1, 2])
def test_loudness_over_the_chunks_is_the_whole_files(tmp_path, channels):
    samples, plan = render_demo_song(duration_s=40.0)
    data = samples if channels == 1 else np.stack([samples, 0.3 * samples], axis=1)
    path = tmp_path / f"{channels}.wav"
    sf.write(path, data, plan.sample_rate)
    whole = measure_loudness(load_audio(path))
    meter = None
    for chunk in longform.plan_chunks(plan.duration_s, chunk_s=16.0):
        audio = load_audio(path, start_s=chunk.decode_start, length_s=chunk.decode_length)
        meter = meter or longform._PowerMeter(str(path), channels=audio.channels)
        end = chunk.end if math.isfinite(chunk.end) else chunk.decode_start + audio.duration_s
        meter.add(audio, start=chunk.start, end=end)
    merged = meter.result(duration_s=audio.offset_s + audio.duration_s)
    assert merged.integrated_lufs == pytest.approx(whole.integrated_lufs, abs=1e-6)
    assert merged.loudness_range_lu == pytest.approx(whole.loudness_range_lu, abs=1e-6)
    assert [point.time for point in merged.curve] == [point.time for point in whole.curve]
    np.testing.assert_allclose([p.value for p in merged.curve], [p.value for p in whole.curve], atol=1e-6)


def test_the_merged_analysis_covers_the_whole_file_without_gaps(song, chunked):
    path, plan = song
    analysis, _ = chunked
    assert analysis.source.sha256 == file_sha256(path)
    assert analysis.source.channels == 2
    assert analysis.source.duration_s == pytest.approx(plan.duration_s, abs=0.01)
    for kind in (analysis.sections, analysis.segments):
        assert kind[0].start == 0.0 and kind[-1].end == pytest.approx(analysis.source.duration_s, abs=1e-3)
        for before, after in zip(kind, kind[1:]):
            assert after.start == pytest.approx(before.end, abs=1e-6)
        assert [item.index for item in kind] == list(range(len(kind)))
    # The seams are section boundaries, and say so.
    starts = [section.start for section in analysis.sections]
    assert 24.0 in starts and 48.0 in starts
    assert any("3 chunks" in note and "0:24, 0:48" in note for note in analysis.summary.notes)
    for window in analysis.segments:
        section = analysis.sections[window.section_index]
        assert section.start - 1e-6 <= window.start < window.end <= section.end + 1e-6


def test_only_one_chunk_is_decoded_at_a_time(chunked):
    _, decoded = chunked
    assert len(decoded) == 3
    assert all(entry["freed_before"] for entry in decoded)
    assert all(entry["seconds"] <= CHUNK_S + 2 * LONGFORM_OVERLAP_S + 0.01 for entry in decoded)
    assert [entry["start"] for entry in decoded] == [0.0, CHUNK_S - LONGFORM_OVERLAP_S, 2 * CHUNK_S - LONGFORM_OVERLAP_S]


def test_times_are_monotonic_and_the_beat_runs_on_across_the_seams(song, chunked):
    _, plan = song
    analysis, _ = chunked
    for times in (analysis.beats, analysis.downbeats, [point.time for point in analysis.tempo_curve],
                  [point.time for point in analysis.loudness_curve],
                  [change.time for change in analysis.key_changes]):
        assert all(later > earlier for earlier, later in zip(times, times[1:]))
    assert [point.time for point in analysis.loudness_curve] == [float(second) for second in
                                                                 range(len(analysis.loudness_curve))]
    for before, after in zip(analysis.chords, analysis.chords[1:]):
        assert before.start < before.end <= after.start + 1e-6
    period = 60.0 / plan.bpm
    beats = np.array(analysis.beats)
    assert beats[0] < 1.0 and beats[-1] > plan.beats[-1] - period / 2
    for seam in (CHUNK_S, 2 * CHUNK_S):
        around = beats[(beats > seam - 4 * period) & (beats < seam + 4 * period)]
        assert len(around) >= 7
        np.testing.assert_allclose(np.diff(around), period, rtol=0.1)
    # Every rendered beat is found once: none lost or doubled at a seam.
    truth = np.array(plan.beats)
    nearest = np.abs(truth[:, None] - beats[None, :]).min(axis=1)
    assert np.mean(nearest < 0.07) > 0.9 and len(beats) <= len(truth) + 1


def test_the_key_change_in_the_second_chunk_is_found_at_its_time(song, chunked):
    _, plan = song
    analysis, _ = chunked
    change = next(section.start for section in plan.sections if section.key == "D major")
    assert CHUNK_S < change < 2 * CHUNK_S
    bar = 4 * 60.0 / plan.bpm
    found = [item for item in analysis.key_changes if item.to_key == "D major"]
    assert len(found) == 1 and found[0].from_key == "C major"
    assert abs(found[0].time - change) <= bar + 0.01
    assert analysis.sections[-1].key == "D major" and analysis.sections[0].key == "C major"


def test_the_summary_matches_the_rendered_truth(song, chunked):
    path, plan = song
    analysis, _ = chunked
    summary = analysis.summary
    assert summary.key == "C major"  # held 43 of the 57 seconds
    assert summary.bpm == pytest.approx(plan.bpm, rel=0.02)
    assert summary.time_signature == "4/4" and summary.verdict == "music" and not summary.silent
    whole = measure_loudness(load_audio(path))
    assert summary.loudness_lufs == pytest.approx(whole.integrated_lufs, abs=1e-6)
    assert summary.loudness_range_lu == pytest.approx(whole.loudness_range_lu, abs=1e-6)
    assert summary.genres and summary.moods and summary.melody is not None


def test_no_material_is_said_to_repeat_across_chunks(chunked):
    analysis, _ = chunked
    seams = [0.0, CHUNK_S, 2 * CHUNK_S, math.inf]
    clusters = [{section.cluster.rstrip("'") for section in analysis.sections if low <= section.start < high}
                for low, high in zip(seams, seams[1:])]
    for index, names in enumerate(clusters):
        for other in clusters[index + 1:]:
            assert not names & other
    for section in analysis.sections:
        if section.start in (CHUNK_S, 2 * CHUNK_S):
            assert section.label != "intro"
