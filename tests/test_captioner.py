import re

from linernotes.tools.captioner import FeatureCaptioner
from linernotes.tools.schema import Segment, Summary, Tag, Vocals

NO_VOICE = Vocals(present=False, score=0.05)


def _summary(**changes):
    fields = dict(key="C major", key_confidence=0.8, bpm=112.0, bpm_confidence=0.9,
                  time_signature="4/4", loudness_lufs=-14.0, loudness_range_lu=6.0, genres=[],
                  moods=[], instruments=[], vocals=NO_VOICE, valence=None, energy=None,
                  danceability=None, instrumentalness=None, melody=None, silent=False)
    return Summary(**{**fields, **changes})


def _segment(index=0, **changes):
    fields = dict(kind="section", index=index, section_index=index, start=10.0 * index,
                  end=10.0 * index + 10.0, label="chorus", cluster="A", label_confidence=0.8,
                  key="C major", key_confidence=0.8, bpm=112.0, loudness_lufs=-12.0,
                  energy=0.9, genres=[Tag(label="pop", score=0.8)], moods=[],
                  instruments=[Tag(label="guitar", score=0.7)], vocals=NO_VOICE,
                  chords=["C:maj", "G:maj"])
    return Segment(**{**fields, **changes})


def test_caption_states_the_segment_numbers():
    text = FeatureCaptioner().caption(_segment(index=2), summary=_summary())
    assert "0:20–0:30" in text and "112 BPM" in text and "C major" in text
    assert "-12 LUFS" in text and "chorus" in text and "guitar" in text
    assert "C, G" in text


def test_never_mentions_a_key_the_segment_does_not_have():
    captioner = FeatureCaptioner()
    keyless = captioner.caption(_segment(key=None, key_confidence=0.0),
                                summary=_summary(key="C major"))
    assert not re.search(r"\b[A-G][#b]? (major|minor)\b", keyless)
    unsure = captioner.caption(_segment(key="E minor", key_confidence=0.1), summary=_summary())
    assert "E minor" not in unsure
    hedged = captioner.caption(_segment(key="E minor", key_confidence=0.45), summary=_summary())
    assert "probably in E minor" in hedged


def test_low_confidence_tags_are_hedged_or_left_out():
    segment = _segment(instruments=[Tag(label="violin", score=0.4), Tag(label="harp", score=0.1)],
                       genres=[Tag(label="jazz", score=0.35)], label="bridge",
                       label_confidence=0.35)
    text = FeatureCaptioner().caption(segment, summary=_summary())
    assert "possibly violin" in text and "harp" not in text
    assert "something jazz" in text and "what is likely the bridge" in text


def test_unsure_sections_are_not_named():
    text = FeatureCaptioner().caption(_segment(label="section", label_confidence=0.2),
                                      summary=_summary())
    assert "a passage" in text and "chorus" not in text


def test_silence_is_said_to_be_silent():
    captioner = FeatureCaptioner()
    song = captioner.caption(_segment(), summary=_summary(silent=True))
    quiet_span = captioner.caption(_segment(loudness_lufs=-75.0), summary=_summary())
    for text in (song, quiet_span):
        assert "silence" in text and "BPM" not in text and "guitar" not in text


def test_changes_against_the_previous_segment():
    previous = _segment(index=0, loudness_lufs=-24.0, key="C major")
    current = _segment(index=1, loudness_lufs=-12.0, key="D major",
                       vocals=Vocals(present=True, score=0.9, type="female"))
    text = FeatureCaptioner().caption(current, summary=_summary(), previous=previous)
    assert "louder by 12 LU" in text and "from C major to D major" in text
    assert "voice enters" in text and "female voice sings" in text
    steady = FeatureCaptioner().caption(_segment(index=1), summary=_summary(),
                                        previous=_segment(index=0))
    assert "Compared with" not in steady


def test_consecutive_captions_differ_even_for_identical_features():
    captioner = FeatureCaptioner()
    captions = [captioner.caption(_segment(index=i, start=0.0, end=10.0), summary=_summary())
                for i in range(3)]
    assert len(set(captions)) == 3
    assert captions == [captioner.caption(_segment(index=i, start=0.0, end=10.0),
                                          summary=_summary()) for i in range(3)]


def test_the_llm_caption_adds_prose_not_times_or_misused_units():
    """"At 1:17" in the 0:59 chorus and "loud by 7 LU" are refused; the feature caption stays."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from linernotes.agent.captioner import LLMCaptioner

    chorus = _segment(start=59.0, end=90.0)
    draft = FeatureCaptioner().caption(chorus, summary=_summary())
    liar = FakeListChatModel(responses=["At 1:17, the guitar chorus hits in C major.",
                                        "The guitar chorus gets loud by 7 LU in C major."])
    assert LLMCaptioner(liar, base=FeatureCaptioner()).caption(chorus, summary=_summary(), previous=None) == draft
    honest = FakeListChatModel(responses=["From 0:59, a bright guitar chorus rings out in C major."])
    assert LLMCaptioner(honest, base=FeatureCaptioner()).caption(chorus, summary=_summary(), previous=None) \
        == "From 0:59, a bright guitar chorus rings out in C major."
