"""The bundled fingerspelling model on phrases it was not made from.

``alt_fingerspelling`` renders phrases from the same letter recordings with another method
than the training generator (other speeds, joins and transforms; no alignment of the clips).
Everything here is SYNTHETIC: a check that the bundled demonstration model learned letters
rather than the generator's habits, not a measure of real fingerspelling.
"""

from __future__ import annotations

import numpy as np
from alt_fingerspelling import phrases, read_clips, render

import aslsign
from aslsign.metrics import normalized_levenshtein


def test_the_default_fingerspelling_model_is_bundled():
    assert aslsign.DEFAULT_FINGERSPELLING_MODEL in aslsign.list_models(task="fingerspelling")


def test_reads_phrases_of_an_independent_generator(letters):
    rng = np.random.default_rng(2026)
    clips = read_clips(letters)
    texts = phrases(60, rng)
    sequences = [render(t, clips, rng) for t in texts]
    with aslsign.FingerspellingRecognizer.from_pretrained() as rec:
        greedy = [r.text for r in rec.predict_batch(sequences)]
        beam = [r.text for r in rec.predict_batch(sequences[:20], beam_width=8)]
    score = normalized_levenshtein(texts, greedy)
    assert score >= 0.6, f"normalised Levenshtein {score:.3f} on independent synthetic phrases"
    assert normalized_levenshtein(texts[:20], beam) >= 0.6
    # and it is the text that scores, not an accident of lengths: shuffled pairs score far lower
    shuffled = normalized_levenshtein(texts, greedy[1:] + greedy[:1])
    assert shuffled < score - 0.3
