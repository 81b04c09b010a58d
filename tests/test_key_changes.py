"""Modulations are judged on the music that has a key: a keyless stretch dilutes nothing."""

import numpy as np

from linernotes.tools.tonality import KEY_LABELS, LOGIT_PERIOD_S, Tonality

A_MINOR_SCALE = (9, 11, 0, 2, 4, 5, 7)
E_MAJOR_SCALE = (4, 6, 8, 9, 11, 1, 3)


def _steps(key: str | None, scale: tuple[int, ...] | None, count: int, *, weight: float,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Key-network logits, chroma and chroma energy for `count` steps of one texture."""
    logits = rng.normal(0.0, 0.1, size=(count, 24))
    chroma = np.zeros((count, 12))
    chroma[:, [8, 9, 10, 11, 0, 1]] = 1.0 / 6  # G#-C#: no scale holds more than 4 of its notes
    if key is not None:
        logits[:, KEY_LABELS.index(key)] += 6.0
        chroma = np.zeros((count, 12))
        chroma[:, list(scale)] = 1.0
        chroma[:, scale[0]] += 1.0  # the tonic and its triad weigh more
        chroma[:, scale[2]] += 0.5
        chroma[:, scale[4]] += 0.5
        chroma /= chroma.sum(axis=1, keepdims=True)
    return logits, chroma * weight, np.full(count, weight)


def test_a_keyless_intro_does_not_hide_the_key_change_after_it():
    """A loud keyless intro (CNN unsure, a chromatic cluster), then A minor, then E major.

    Averaged over the whole run the path gives A minor (intro included), the CNN is unsure
    and the chroma is mostly the cluster's; judged on its keyed steps the run is A minor.
    """
    rng = np.random.default_rng(0)
    parts = [_steps(None, None, 30, weight=10.0, rng=rng),
             _steps("A minor", A_MINOR_SCALE, 20, weight=1.0, rng=rng),
             _steps("E major", E_MAJOR_SCALE, 20, weight=1.0, rng=rng)]
    logits, chroma, weight = (np.concatenate(column) for column in zip(*parts))
    tonality = Tonality(logits=logits, level=np.ones(len(logits)), duration_s=len(logits) * LOGIT_PERIOD_S,
                        pitch_classes=chroma, pitch_weight=weight)
    whole_run = tonality.key(start=0.0, end=50 * LOGIT_PERIOD_S)
    assert whole_run.key is None  # the dilution the change's confidence must not suffer
    changes = tonality.changes()
    assert [(change.from_key, change.to_key) for change in changes] == [("A minor", "E major")]
    assert abs(changes[0].time - 50 * LOGIT_PERIOD_S) <= 2 * LOGIT_PERIOD_S
    assert changes[0].confidence > 0.9

