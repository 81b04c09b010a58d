"""Harmonic language from a measured chord timeline: the loop, borrowed chords, the cadence.

Pure functions over mir_eval chord labels and key names; what cannot be read off the
chords (a loop that does not repeat, a cadence in an unknown key) is None or empty.
"""

from __future__ import annotations

from linernotes.tools.vocabulary import chord_symbol, key_identity, pitch_class

_INTERVALS = {1: "a semitone", 2: "a whole tone", 3: "a minor third", 4: "a major third", 5: "a fourth",
              6: "a tritone", 7: "a fifth", 8: "a minor sixth", 9: "a major sixth", 10: "a minor seventh",
              11: "a major seventh"}
# Scale degrees (semitones above the tonic) with the triad quality each degree has in the key.
_DIATONIC = {"major": {0: "maj", 2: "min", 4: "min", 5: "maj", 7: "maj", 9: "min", 11: "dim"},
             "minor": {0: "min", 2: "dim", 3: "maj", 5: "min", 7: "min", 8: "maj", 10: "maj"}}


def _parts(label: str) -> tuple[int, str] | None:
    if label in ("N", "X", "") or ":" not in label:
        return None
    root, quality = label.split(":", 1)
    quality = quality.split("/")[0]
    return pitch_class(root), "min" if quality.startswith("min") else "dim" if quality.startswith("dim") \
        else "maj"


def _collapsed(timeline: list[str]) -> list[str]:
    """The chords in order, a chord repeated or re-voiced (C, C/E) counted once: what the symbols show."""
    chords = [label for label in timeline if _parts(label)]
    return [label for position, label in enumerate(chords)
            if position == 0 or chord_symbol(chords[position - 1]) != chord_symbol(label)]


def chord_loop(timeline: list[str], *, min_repeats: int = 2, min_match: float = 0.75) -> list[str]:
    """The shortest cycle of 2–8 chords that the timeline repeats at least `min_repeats` times.

    Returns the cycle as lead-sheet symbols (["C", "Am", "F", "G"]), or [] when none repeats.
    """
    chords = [chord_symbol(label) for label in _collapsed(timeline)]
    for period in range(2, 9):
        if len(chords) < period * min_repeats or len(set(chords[:period])) < 2:
            continue
        matches = sum(chords[position] == chords[position % period] for position in range(len(chords)))
        if matches / len(chords) >= min_match:
            return chords[:period]
    return []


def borrowed_chords(timeline: list[str], key: str | None) -> list[str]:
    """Chords outside the key that belong to its parallel key (bVII, bVI, iv in major...)."""
    identity = key_identity(key) if key else None
    if identity is None:
        return []
    tonic, mode = identity
    parallel = _DIATONIC["minor" if mode == "major" else "major"]
    borrowed = []
    for label in _collapsed(timeline):
        root, quality = _parts(label)
        degree = (root - tonic) % 12
        leading_tone_dominant = mode == "minor" and degree == 7 and quality == "maj"  # harmonic minor's V
        if _DIATONIC[mode].get(degree) != quality and parallel.get(degree) == quality and not leading_tone_dominant:
            borrowed.append(chord_symbol(label))
    return list(dict.fromkeys(borrowed))


def cadence(timeline: list[str], key: str | None) -> str | None:
    """How the passage closes: a perfect (V–I), plagal (IV–I) or half (ends on V) cadence."""
    identity = key_identity(key) if key else None
    chords = _collapsed(timeline)
    if identity is None or len(chords) < 2:
        return None
    tonic, _ = identity
    last, before = _parts(chords[-1]), _parts(chords[-2])
    pair = f"{chord_symbol(chords[-2])} – {chord_symbol(chords[-1])}"
    if last[0] == tonic and (before[0] - tonic) % 12 == 7 and before[1] == "maj":
        return f"a perfect cadence ({pair})"
    if last[0] == tonic and (before[0] - tonic) % 12 == 5:
        return f"a plagal cadence ({pair})"
    if (last[0] - tonic) % 12 == 7 and last[1] == "maj":
        return f"a half cadence, on {chord_symbol(chords[-1])}"
    return None


def transposition(first: str | None, second: str | None) -> int:
    """Semitones up from key `first` to key `second` (0 when the same, unknown or a mode change)."""
    one, two = (key_identity(key) if key else None for key in (first, second))
    if one is None or two is None or one[1] != two[1]:
        return 0
    return (two[0] - one[0]) % 12


def interval_words(semitones: int) -> str:
    """2 -> "a whole tone higher", 10 -> "a whole tone lower": the nearer direction."""
    if semitones > 6:
        return f"{_INTERVALS[12 - semitones]} lower"
    return f"{_INTERVALS[semitones]} higher"
