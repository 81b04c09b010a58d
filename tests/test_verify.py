"""The verifier: claims in prose are checked against a known analysis."""

from agent_fixtures import song_analysis

from linernotes.agent.narrative import verify_paragraph
from linernotes.agent.outline import build_outline
from linernotes.agent.verify import section_scope, song_scope, verify_text
from linernotes.agent.writer import deterministic_paragraphs


def _verse_scope():
    analysis = song_analysis()
    return section_scope(analysis, build_outline(analysis).sections[1])  # verse, 0:15–0:40, C major


def test_true_claims_pass():
    verification = verify_text(
        "At 0:15 the vocals enter over piano, drums and bass; in C major at 120 BPM it turns on "
        "the chords C – G – Am – F and feels happy pop.", _verse_scope())
    kinds = {claim.kind for claim in verification.claims}
    assert verification.ok, verification.errors()
    assert kinds == {"time", "key", "tempo", "chord", "instrument", "genre", "mood"}


def test_wrong_key_is_caught():
    verification = verify_text("The verse sits in E major.", _verse_scope())
    assert [claim.kind for claim in verification.failures] == ["key"]
    assert "C major" in verification.failures[0].reason


def test_enharmonic_key_is_the_same_key():
    analysis = song_analysis()
    scope = song_scope(analysis)
    scope.keys = ["F# minor"]
    assert verify_text("It is in Gb minor.", scope).ok


def test_wrong_bpm_is_caught():
    verification = verify_text("It drives along at 140 BPM.", _verse_scope())
    assert [claim.kind for claim in verification.failures] == ["tempo"]
    assert verify_text("It drives along at 121 bpm.", _verse_scope()).ok


def test_timestamp_outside_its_section_is_caught():
    verification = verify_text("The verse opens at 0:15 and the piano solo comes at 0:52.", _verse_scope())
    assert [claim.text for claim in verification.failures] == ["0:52"]


def test_wrong_duration_and_loudness_are_caught():
    # The verse lasts 25 s at -19 LUFS.
    verification = verify_text("A 4-minute verse, pounding at -8 LUFS.", _verse_scope())
    assert {claim.kind for claim in verification.failures} == {"duration", "loudness"}
    assert verify_text("A 25-second verse at -19 LUFS.", _verse_scope()).ok


def test_wrong_chord_instrument_genre_and_mood_are_caught():
    verification = verify_text(
        "A saxophone plays the chords C – Eb – G in a jazz style that feels sad.", _verse_scope())
    failed = {(claim.kind, claim.text) for claim in verification.failures}
    assert failed == {("instrument", "saxophone"), ("chord", "Eb"), ("genre", "jazz"), ("mood", "sad")}


def test_absent_instruments_are_not_claims():
    # The intro has no vocals and no guitar: saying so is true.
    analysis = song_analysis()
    intro = section_scope(analysis, build_outline(analysis).sections[0])
    assert verify_text("There are no vocals and no guitar yet; the drums drop out.", intro).ok
    assert not verify_text("Vocals float over the piano.", intro).ok


def test_key_moments_must_hit_a_moment():
    analysis = song_analysis()
    outline = build_outline(analysis)
    scope = song_scope(analysis, moments=outline.moments)
    assert verify_text("- **0:40** — the key moves from C major to A minor", scope).ok
    assert not verify_text("- **0:33** — the key moves from C major to A minor", scope).ok


def test_deterministic_narrative_verifies_completely():
    analysis = song_analysis()
    outline = build_outline(analysis)
    verifications = [verify_paragraph(analysis, outline, paragraph) for paragraph in deterministic_paragraphs(outline)]
    assert all(verification.ok for verification in verifications)
    assert sum(len(verification.claims) for verification in verifications) > 30


def test_a_time_inside_the_span_must_be_one_of_its_events():
    """No "At 0:27" in a verse where nothing happens at 0:27, though 0:27 lies inside it."""
    verification = verify_text("At 0:27 the drums hit harder.", _verse_scope())
    assert [claim.text for claim in verification.failures] == ["0:27"]
    assert "nothing happens" in verification.failures[0].reason
    assert verify_text("Like the intro at 0:00, it is in C major.", _verse_scope()).ok  # pointing back is fine


def test_units_used_wrongly_are_caught():
    scope = _verse_scope()
    assert [claim.kind for claim in verify_text("It is loud by 7 LU.", scope).failures] == ["unit", "mood"]
    assert verify_text("It is louder by 7 LU.", scope).ok
    assert verify_text("The loudness range of 8 LU is wide.", scope).ok
    assert [claim.kind for claim in verify_text("It peaks at 14 LUFS.", scope).failures] == ["unit"]
