"""Sections from the music's self-similarity, with repeated material clustered and named.

Bars (downbeat to downbeat) are described by chroma (harmony), MFCCs (timbre), level, and
optionally a tagger's embeddings. A change point is where the bars just before a downbeat
differ from the bars just after it more than they differ among themselves (a checkerboard
novelty, Foote 2000, on distances); boundaries are downbeats at least `min_section_s`
apart. Sections whose bars match bar by bar share a cluster letter, a transposed repeat
gets a prime ("A'"), and roles come from honest heuristics on order, repetition and level,
with a confidence that says how much to trust them.
"""

from __future__ import annotations

import librosa
import numpy as np
from pydantic import BaseModel
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import cdist, squareform

from linernotes.tools.audio import Audio
from linernotes.tools.loudness import SILENCE_PEAK_DBFS, span_loudness
from linernotes.tools.schema import LoudnessResult

_RATE = 22050
_N_FFT = 4096
_HOP = 1024
_FALLBACK_BAR_S = 4.0  # the grid when there is no pulse to follow
_NOVELTY_THRESHOLD = 0.15  # share of the cross-boundary distance not explained within blocks
# A repeat is closer, bar by bar, than this share of the median distance between sections.
_SAME_CLUSTER_SHARE = 0.4
_LEVEL_UNIT_DB = 6.0  # a 6 dB level change weighs as much as a full timbre change


class SectionSpan(BaseModel):
    """A section: its span, the material it shares with others, and its likely role."""

    start: float
    end: float
    cluster: str  # "A", "B", ...; "A'" is A transposed
    label: str  # intro, verse, chorus, bridge, breakdown, outro, or "section" when unsure
    label_confidence: float


def segment_sections(
    audio: Audio,
    *,
    beats: list[float],
    downbeats: list[float],
    embeddings: np.ndarray | None = None,
    embedding_times: np.ndarray | None = None,
    loudness: LoudnessResult | None = None,
    min_section_s: float = 8.0,
    max_section_s: float = 48.0,
) -> list[SectionSpan]:
    """Split a song into sections, cluster repeats and name their roles.

    Parameters
    ----------
    audio : Audio
        The decoded song.
    beats, downbeats : list of float
        Beat and bar times in seconds. Boundaries fall on downbeats; without them on every
        fourth beat; without beats on a fixed 4 s grid.
    embeddings : np.ndarray, optional
        Tagger embeddings, shape (frames, dims), joined to the bar features.
    embedding_times : np.ndarray, optional
        Centre time in seconds of each embedding frame; required with `embeddings`.
    loudness : LoudnessResult, optional
        Used for the sections' levels (intro, chorus, breakdown); else the signal's RMS.
    min_section_s : float
        Shortest section, rounded to whole bars (at least two).
    max_section_s : float
        Longer stretches without a clear change are split at their strongest change.

    Returns
    -------
    list of SectionSpan
        Contiguous, covering 0 to the end of the audio. A silent or too short input gives
        one section labelled "section" with confidence 0.
    """
    duration = audio.duration_s
    peak = float(np.max(np.abs(audio.samples))) if audio.samples.size else 0.0
    edges = _bar_edges(beats, downbeats, duration=duration)
    bar_s = float(np.median(np.diff(edges))) if len(edges) > 1 else duration
    min_bars = max(2, int(round(min_section_s / max(bar_s, 1e-3))))
    if peak <= 10.0 ** (SILENCE_PEAK_DBFS / 20.0) or len(edges) - 1 < 2 * min_bars:
        return [SectionSpan(start=0.0, end=duration, cluster="A", label="section",
                            label_confidence=0.0)]
    features, levels_db = _bar_features(audio, edges, embeddings=embeddings,
                                        embedding_times=embedding_times)
    distances = cdist(features, features)
    max_bars = max(2 * min_bars, int(round(max_section_s / max(bar_s, 1e-3))))
    cuts = _pick_boundaries(_novelty(distances, width=min_bars), min_bars=min_bars,
                            max_bars=max_bars)
    spans = list(zip([0, *cuts], [*cuts, len(edges) - 1]))
    clusters = _cluster(spans, features)
    levels = [_span_level(edges, span, levels_db, loudness) for span in spans]
    labels = _name_roles(clusters, levels, [edges[b] - edges[a] for a, b in spans], duration)
    return [SectionSpan(start=float(edges[a]), end=float(edges[b]), cluster=cluster,
                        label=label, label_confidence=round(confidence, 2))
            for (a, b), cluster, (label, confidence) in zip(spans, clusters, labels)]


def _bar_edges(beats: list[float], downbeats: list[float], *, duration: float) -> np.ndarray:
    """Bar boundaries from 0 to the end; a pickup shorter than half a bar joins the first bar."""
    if len(downbeats) >= 2:
        grid = np.asarray(downbeats, dtype=float)
    elif len(beats) >= 8:
        grid = np.asarray(beats, dtype=float)[::4]
    else:
        grid = np.arange(0.0, duration, _FALLBACK_BAR_S)
    bar_s = float(np.median(np.diff(grid))) if len(grid) > 1 else duration
    grid = grid[(grid > bar_s / 2) & (grid < duration - bar_s / 2)]
    return np.concatenate([[0.0], grid, [duration]])


def _bar_features(audio: Audio, edges: np.ndarray, *, embeddings: np.ndarray | None,
                  embedding_times: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-bar features in comparable units, and each bar's RMS level in dB."""
    power = np.abs(librosa.stft(audio.at(_RATE), n_fft=_N_FFT, hop_length=_HOP)) ** 2
    # tuning=0: the concert-pitch assumption is enough for section contrast, and librosa's
    # tuning estimate is slow.
    chroma = librosa.feature.chroma_stft(S=power, sr=_RATE, tuning=0.0)
    mfcc = librosa.feature.mfcc(
        S=librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=_RATE, n_mels=64)),
        n_mfcc=14)[1:]
    frame_power = power.sum(axis=0) / _N_FFT
    frame_times = librosa.frames_to_time(np.arange(power.shape[1]), sr=_RATE, hop_length=_HOP)
    bars = np.searchsorted(edges, frame_times, side="right") - 1
    count = len(edges) - 1
    bar_chroma = _pool(chroma.T, bars, count)
    bar_chroma /= np.maximum(np.linalg.norm(bar_chroma, axis=1, keepdims=True), 1e-9)
    bar_mfcc = _pool(mfcc.T, bars, count)
    bar_mfcc = (bar_mfcc - bar_mfcc.mean(axis=0)) / np.maximum(bar_mfcc.std(axis=0), 1.0)
    levels_db = 10.0 * np.log10(np.maximum(_pool(frame_power[:, None], bars, count)[:, 0], 1e-10))
    groups = [bar_chroma, bar_mfcc / np.sqrt(bar_mfcc.shape[1]),
              (levels_db[:, None] - levels_db.max()) / _LEVEL_UNIT_DB]
    if embeddings is not None and embedding_times is not None and len(embeddings):
        nearest = np.clip(np.searchsorted(edges, np.asarray(embedding_times), side="right") - 1,
                          0, count - 1)
        bar_embedding = _pool(np.asarray(embeddings, dtype=float), nearest, count)
        groups.append(bar_embedding / np.maximum(
            np.linalg.norm(bar_embedding, axis=1, keepdims=True), 1e-9))
    return np.hstack(groups), levels_db


def _pool(values: np.ndarray, bars: np.ndarray, count: int) -> np.ndarray:
    """Mean of the rows of `values` in each bar; a bar with no row takes its neighbour's."""
    pooled = np.full((count, values.shape[1]), np.nan)
    for bar in range(count):
        rows = values[bars == bar]
        if len(rows):
            pooled[bar] = rows.mean(axis=0)
    for bar in range(count):
        if np.isnan(pooled[bar]).any():
            pooled[bar] = pooled[bar - 1] if bar else np.nanmean(pooled, axis=0)
    return pooled


def _novelty(distances: np.ndarray, *, width: int) -> np.ndarray:
    """For each bar edge, the share of the distance across it not explained within its sides.

    Entry `i` compares the `width` bars before edge `i` with the `width` bars after it
    (fewer at the ends): (mean(across) − mean(within)) / mean(across), the denominator
    at least the song's mean bar distance. Near 0 inside a homogeneous or repeating
    passage, towards 1 at a clear change.
    """
    count = len(distances)
    novelty = np.zeros(count + 1)
    # Near-identical bars must not make a tiny difference look like a change.
    floor = float(np.mean(distances[np.triu_indices(count, k=1)])) if count > 1 else 0.0
    for edge in range(1, count):
        before = slice(max(edge - width, 0), edge)
        after = slice(edge, min(edge + width, count))
        across = distances[before, after].mean()
        # A single bar says nothing about its side's spread, so it is left out.
        within = [_mean_off_diagonal(distances[side, side]) for side in (before, after)
                  if side.stop - side.start > 1]
        if within and across > 0:
            novelty[edge] = (across - np.mean(within)) / max(across, floor)
    return novelty


def _mean_off_diagonal(block: np.ndarray) -> float:
    size = len(block)
    return float(block.sum() / (size * (size - 1)))


def _pick_boundaries(novelty: np.ndarray, *, min_bars: int, max_bars: int) -> list[int]:
    """Strongest novelty peaks first, keeping sections at least `min_bars` long.

    The first and last section may be half as long (a short intro or ending). Music that
    changes gradually has no peak above the threshold; a stretch longer than `max_bars` is
    then split at its strongest change, so a long song never stays one block.
    """
    count = len(novelty) - 1
    edge_bars = max(1, min_bars // 2)
    chosen: list[int] = []
    for edge in np.argsort(-novelty):
        if novelty[edge] < _NOVELTY_THRESHOLD:
            break
        if edge < edge_bars or edge > count - edge_bars:
            continue
        if all(abs(edge - other) >= min_bars for other in chosen):
            chosen.append(int(edge))
    while True:
        bounds = [0, *sorted(chosen), count]
        splits = [int(start + min_bars + np.argmax(novelty[start + min_bars: end - min_bars + 1]))
                  for start, end in zip(bounds[:-1], bounds[1:])
                  if end - start > max_bars and end - start >= 2 * min_bars]
        if not splits:
            return sorted(chosen)
        chosen.extend(splits)


def _cluster(spans: list[tuple[int, int]], features: np.ndarray) -> list[str]:
    """Letters by first appearance; sections that repeat bar by bar share one.

    A repeat that matches only after transposing its chroma gets the letter with a prime.
    """
    count = len(spans)
    plain = np.zeros((count, count))
    shifted = np.zeros((count, count))
    for i in range(count):
        for j in range(i + 1, count):
            plain[i, j] = plain[j, i] = _aligned_distance(features, spans[i], spans[j], shift=0)
            shifted[i, j] = shifted[j, i] = min(
                _aligned_distance(features, spans[i], spans[j], shift=shift)
                for shift in range(12))
    if count == 1:
        return ["A"]
    threshold = _SAME_CLUSTER_SHARE * float(np.median(squareform(shifted)))
    groups = fcluster(linkage(squareform(shifted), method="average"), t=threshold,
                      criterion="distance")
    letters: dict[int, str] = {}
    first_member: dict[int, int] = {}
    names = []
    for index, group in enumerate(groups):
        if group not in letters:
            letters[group] = chr(ord("A") + len(letters) % 26)
            first_member[group] = index
        reference = first_member[group]
        transposed = (index != reference
                      and plain[index, reference] > threshold
                      and shifted[index, reference] <= threshold)
        names.append(letters[group] + ("'" if transposed else ""))
    return names


def _aligned_distance(features: np.ndarray, first: tuple[int, int], second: tuple[int, int],
                      *, shift: int) -> float:
    """Mean distance between the two sections' bars in order, chroma of the second rolled."""
    length = min(first[1] - first[0], second[1] - second[0])
    a = features[first[0]: first[0] + length]
    b = features[second[0]: second[0] + length].copy()
    b[:, :12] = np.roll(b[:, :12], shift, axis=1)
    # Unequal lengths count against a match: a 4-bar section is not an 8-bar one repeated.
    stretch = max(first[1] - first[0], second[1] - second[0]) / length
    return float(np.linalg.norm(a - b, axis=1).mean() * np.sqrt(stretch))


def _span_level(edges: np.ndarray, span: tuple[int, int], levels_db: np.ndarray,
                loudness: LoudnessResult | None) -> float:
    """Level in dB (LUFS when a loudness result is given) of the bars `span` covers."""
    if loudness is not None:
        level = span_loudness(loudness, start=float(edges[span[0]]), end=float(edges[span[1]]))
        if level is not None:
            return level
    bar_levels = levels_db[span[0]: span[1]]
    return float(10.0 * np.log10(np.mean(10.0 ** (bar_levels / 10.0))))


def _name_roles(clusters: list[str], levels: list[float], lengths: list[float],
                duration: float) -> list[tuple[str, float]]:
    """Roles from order, repetition and level; ("section", low confidence) when none fits."""
    count = len(clusters)
    base = [name.rstrip("'") for name in clusters]
    occurrences = {name: base.count(name) for name in base}
    median_level = float(np.median(levels))
    roles: list[tuple[str, float] | None] = [None] * count

    def cluster_level(name: str) -> float:
        return float(np.mean([level for level, other in zip(levels, base) if other == name]))

    # A chorus is repeated and at least as loud as the song's average section: a quiet
    # intro whose material returns as the outro is no chorus.
    repeated = [name for name in occurrences
                if occurrences[name] > 1 and cluster_level(name) >= np.mean(levels)]
    chorus = max(repeated, key=cluster_level, default=None)
    if chorus is not None:
        margin = cluster_level(chorus) - median_level
        confidence = min(0.9, 0.4 + 0.1 * occurrences[chorus] + 0.05 * max(margin, 0.0))
        for index in range(count):
            if base[index] == chorus:
                roles[index] = ("chorus", confidence)
        # Verse: the repeated material that leads into a chorus.
        for index in range(count - 1):
            name = base[index]
            if (roles[index] is None and name != chorus and occurrences[name] > 1
                    and base[index + 1] == chorus):
                for other in range(count):
                    if base[other] == name and roles[other] is None:
                        roles[other] = ("verse", min(0.8, 0.35 + 0.1 * occurrences[name]))
    # Intro and outro often share material, so a repeat does not rule them out.
    for index, role, needed in ((0, "intro", 2), (count - 1, "outro", 3)):
        if count >= needed and roles[index] is None:
            quieter = levels[index] < median_level - 3.0
            roles[index] = (role, 0.4 + 0.25 * quieter + 0.1 * (occurrences[base[index]] == 1))
    if chorus is not None:
        first_chorus = base.index(chorus)
        if 0 < first_chorus - 1 and roles[first_chorus - 1] is None:
            roles[first_chorus - 1] = ("verse", 0.3)  # heard once: could be a pre-chorus
    has_bridge = False
    for index in range(1, count - 1):
        if roles[index] is not None or occurrences[base[index]] > 1:
            continue
        middle = (sum(lengths[:index]) + lengths[index] / 2) / duration
        if not has_bridge and middle > 0.5 and chorus is not None and chorus in base[:index]:
            roles[index], has_bridge = ("bridge", 0.5), True
        elif levels[index] < median_level - 6.0:
            roles[index] = ("breakdown", 0.45)
    return [role or ("section", 0.2) for role in roles]
