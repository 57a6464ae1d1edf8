"""Model cards (``README.md`` of an artifact) written from what a run recorded in config.json.

A card states what the model knows, how it was measured (held-out participants, and the
participant-grouped cross-validation when the run did one), the command that made it, the data,
the time it took and where, and its input and output. Nothing in a card is typed by hand: every
figure is read from ``config.metrics`` / ``config.training``. Each card starts with the YAML front
matter the Hugging Face hub reads (:func:`aslsign.hub.card_metadata`: library, license, tags,
dataset, the held-out figures as a ``model-index``), the same that ``aslsign push`` adds.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any

from aslsign.config import ModelConfig
from aslsign.hub import add_card_metadata

__all__ = ["fingerspelling_card", "sign_card", "variants_lines", "with_variants"]


def _shape(shape: Sequence[int | None]) -> str:
    return json.dumps(list(shape))


def _reproduce(command: str) -> str:
    """The command without ``--push-to-hub``: publishing is no part of reproducing a model."""
    words, out = shlex.split(command), []
    skip = False
    for w in words:
        if skip:
            skip = False
        elif w == "--push-to-hub":
            skip = True
        elif not w.startswith("--push-to-hub="):
            out.append(w)
    return shlex.join(out)


def _training_lines(t: dict[str, Any], command: str) -> list[str]:
    lines = [f"Reproduce with `{_reproduce(command)}`", ""]
    opts = t.get("summary")
    if opts:
        lines += [f"- {opts}"]
    lines += [
        f"- participants trained on: {t.get('train_participants')}",
        f"- participants held out: {t.get('val_participants') or 'none'}",
        f"- training time {t.get('seconds')} s on {t.get('machine')}"
        + (f" (cross-validation folds: {t['cv_seconds']} s more)" if t.get("cv_seconds") else ""),
    ]
    return lines


def _cv_lines(cv: dict[str, Any]) -> list[str]:
    lines = [
        f"**Cross-validation** ({len(cv['folds'])} folds, grouped by participant: each fold's "
        "participants are never seen by the model that is scored on them; same command and "
        "options as this model, exported model through `aslsign.SignRecognizer`):",
        "",
        "| fold | held-out participants | sequences | top-1 |",
        "|---|---|---|---|",
    ]
    for i, f in enumerate(cv["folds"]):
        lines.append(f"| {i} | {f['participants']} | {f['count']} | {f['top1']:.4f} |")
    lines += [
        f"| pooled | all | {cv['count']} | **{cv['top1']:.4f}** |",
        "",
        f"Expected accuracy on signers it has not seen: about **{cv['top1']:.1%}** (pooled "
        f"{cv['correct']}/{cv['count']}; fold range {cv['min_top1']:.4f}-{cv['max_top1']:.4f}).",
        "",
    ]
    return lines


def variants_lines(config: ModelConfig) -> list[str]:
    """The ``## Variants`` section: each file, its size and how often it agrees with fp32."""
    if not config.variants:
        return []
    agreement = {"top1_agreement": "top-1 agreement", "same_text": "same transcription"}
    lines = [
        "## Variants",
        "",
        'Load one with `from_pretrained(..., variant="fp16")` (from a hub repo only that file '
        "is downloaded). Agreement is with `model.tflite` (fp32), through the runtime:",
        "",
        "| variant | file | size | of fp32 | agreement with fp32 | on |",
        "|---|---|---|---|---|---|",
    ]
    for name in sorted(config.variants):
        v = config.variants[name]
        a = v.get("agreement", {})
        what = agreement.get(a.get("metric"), a.get("metric", ""))
        diff = (
            f", max abs probability diff {a['max_abs_prob_diff']}"
            if "max_abs_prob_diff" in a
            else ""
        )
        lines.append(
            f"| {name} | `{v['file']}` | {v['size_bytes'] / 1e6:.2f} MB | {v['size_ratio']:.1%} | "
            f"{what} {a.get('value', float('nan')):.4f}{diff} | {a.get('count')} sequences: "
            f"{a.get('data')} |"
        )
    lines += [
        "",
        *(f"- {name}: {config.variants[name]['method']}" for name in sorted(config.variants)),
    ]
    commands = sorted({v["command"] for v in config.variants.values() if v.get("command")})
    if commands:
        lines += [
            "",
            "Made from `model.tflite` after training with "
            + ", ".join(f"`{c}`" for c in commands)
            + ".",
        ]
    return [*lines, ""]


def with_variants(card: str, config: ModelConfig) -> str:
    """``card`` with its ``## Variants`` section replaced by (or, before ``## Training``,
    given) the one of ``config`` (for artifacts whose card was written before their variants)."""
    lines = card.split("\n")
    heads = [i for i, line in enumerate(lines) if line.startswith("## ")]
    start = next((i for i in heads if lines[i] == "## Variants"), None)
    if start is not None:
        end = next((i for i in heads if i > start), len(lines))
        del lines[start:end]
    else:
        start = next((i for i in heads if lines[i] == "## Training"), len(lines))
    lines[start:start] = variants_lines(config)
    return "\n".join(lines)


def _open_set_intro(config: ModelConfig) -> list[str]:
    """What the model says for anything else."""
    if config.background_label is None and config.score_threshold is None:
        return ["It always answers with one of these; anything else will be called one of them."]
    how = []
    if config.score_threshold is not None:
        how.append(f"the best sign's probability is below {config.score_threshold}")
    elif config.background_label is not None:
        how.append(f"its background class `{config.background_label}` wins")
    if config.background_label is not None:
        how[-1] += (
            f" (the background class `{config.background_label}` was trained on other signs, "
            "fingerspelled letters and hands that are held or drift)"
        )
    return [
        "For anything else it should answer *none of these*: the result is `rejected` (`label` "
        f"None, the candidates still in `top_k`) when {' or '.join(how)}. No hand detected: "
        "no label, the model is not run."
    ]


def _open_set_lines(o: dict[str, Any], streams: dict[str, Any] | None) -> list[str]:
    """Rejection of unseen signs, cross-validated by sign, and spotting in streams."""
    plain, wins = o["without_rejection"], o.get("background_wins")
    lines = [
        "",
        "**Unknown signs**, cross-validated by sign: each fold also held out a group of the "
        f"negative signs and letters ({o['sources']}), never negatives in its training, and "
        "was asked to reject them. Pooled over the folds (the in-vocabulary figures count a "
        "sequence right when its sign is recognised and not rejected):",
        "",
        "| rule | in-vocabulary recognised | unseen signs rejected |",
        "|---|---|---|",
        f"| no rejection | {plain['in_vocabulary_correct']:.1%} of {o['count']} | "
        f"{plain['unseen_signs_rejected']:.1%} of {o['unseen_signs']} |",
        *(
            [
                f"| the background class wins | {wins['in_vocabulary_correct']:.1%} | "
                f"{wins['unseen_signs_rejected']:.1%} |"
            ]
            if wins
            else []
        ),
        f"| **probability below {o['score_threshold']}** (config.json, the default) | "
        f"**{o['in_vocabulary_correct']:.1%}** | **{o['unseen_signs_rejected']:.1%}** |",
        "",
        f"The threshold is the highest that keeps {o['target']:.0%} of the folds' in-vocabulary "
        "accuracy with no rejection (`--threshold-target`); the probabilities are over the "
        "vocabulary and the background class together.",
        "",
    ]
    if streams:
        lines += [
            "**Spotting** (`rec.spot`), cross-validated the same way: each fold's held-out "
            "sequences and unseen signs, shuffled and joined by 0.5-1.5 s idle gaps (no hands, "
            f"or hands at rest) into streams of 20: event F1 **{streams['f1']:.3f}** "
            f"(precision {streams['precision']:.3f}, recall {streams['recall']:.3f}; a span "
            "matches a sign with the same label and temporal IoU >= 0.3, a span over one of the "
            f"{streams['unknown']} unknown signs is a false positive).",
            "",
        ]
    return lines


def sign_card(config: ModelConfig, command: str) -> str:
    """The card of an isolated-sign artifact."""
    t, m = config.training, config.metrics
    ks = [k for k in (1, 5, 10) if f"top{k}" in m.get("train", {})]
    lines = [
        f"# {config.name}",
        "",
        f"Isolated ASL sign recognition from MediaPipe Holistic landmarks: the "
        f"`{config.architecture}` architecture ({config.architecture_args}) trained by "
        f"`{t.get('recipe')}` on {t.get('data_description')}.",
        "",
        f"**Signs it knows ({len(config.vocabulary)}):** " + ", ".join(config.vocabulary) + ".",
        *_open_set_intro(config),
        "",
        "## Use",
        "",
        "```python",
        "from aslsign import SignRecognizer",
        "",
        f'rec = SignRecognizer.from_pretrained("{config.name}")',
        'print(rec.predict("sequence.parquet").label)',
        "```",
        "",
        "## Evaluation",
        "",
    ]
    if "cv" in m:
        lines += _cv_lines(m["cv"])
    if "open_set" in m:
        lines += _open_set_lines(m["open_set"], m.get("streams"))
    splits = [s for s in ("validation", "train") if s in m]
    if splits:
        if "validation" in m:
            lines += [
                f"Measured on {m.get('data')}, with the exported `model.tflite` through "
                "`aslsign.SignRecognizer` (fp32, LiteRT):",
                "",
            ]
        else:
            lines += [
                "No participant was held out of this model's training (see the "
                "cross-validation above for its expected accuracy); on its own training data, "
                "through the exported `model.tflite`:",
                "",
            ]
        lines += [
            "| split | sequences | " + " | ".join(f"top-{k}" for k in ks) + " |",
            "|---|---|" + "---|" * len(ks),
        ]
        for split in splits:
            s = m[split]
            cells = " | ".join(f"{s[f'top{k}']:.4f}" for k in ks)
            lines.append(f"| {split} | {s['count']} | {cells} |")
        if any(k >= len(config.labels) for k in ks):
            lines += ["", f"(top-k with k >= {len(config.labels)} classes is trivially 1.)"]
        lines += ["", f"Keras vs TFLite max abs logit difference: {m.get('export_max_abs_diff')}."]
    if "kaggle" in m:
        k = m["kaggle"]
        lines += [
            "",
            "The Kaggle GISLR submission written with it (`--kaggle`, preprocessing inside the "
            f"graph) against this artifact on {k['count']} sequences: max abs probability "
            f"difference {k['max_abs_diff']}, same label {k['same_label']:.1%}.",
        ]
    lines += ["", *variants_lines(config), "## Training", "", *_training_lines(t, command)]
    lines += [
        "",
        "## Input",
        "",
        f"Preprocessing `{config.preprocessing['name']}` (see `aslsign.preprocessing`), "
        f"max {config.preprocessing.get('max_len', config.preprocessing.get('frames'))} frames; "
        f"model input `{config.input.name}` {_shape(config.input.shape)}, output "
        f"`{config.output.name}` {_shape(config.output.shape)} ({config.output_kind}; `null` = "
        "any size).",
        "",
        "## License",
        "",
        f"Weights: {config.license}. Training data: Google GISLR / PopSign recordings (CC BY 4.0).",
        "",
    ]
    return add_card_metadata("\n".join(lines), config)


def fingerspelling_card(config: ModelConfig, command: str) -> str:
    """The card of a fingerspelling artifact trained on synthetic data."""
    t, m = config.training, config.metrics
    val = m.get("validation", {})
    lines = [
        f"# {config.name}",
        "",
        "Fingerspelling (ASL letters and digits) to text from MediaPipe Holistic landmarks: the "
        f"`{config.architecture}` architecture ({config.architecture_args}), a Conv1D + "
        "Transformer encoder with a CTC head, trained by "
        f"`{t.get('recipe')}` on {t.get('data_description')}.",
        "",
        "**What it is, plainly: trained on SYNTHETIC phrases made from one signer's isolated "
        "letter and digit recordings** (`training_recipes/synth_fingerspelling.py`). It is a "
        "demonstration of the pipeline (data, training, export, NumPy CTC decoding), not a "
        "model for real fingerspelling: real signers, real transitions between letters and "
        "real recording conditions were never seen in training. Every figure below is "
        "measured on synthetic data.",
        "",
        "## Use",
        "",
        "```python",
        "from aslsign import FingerspellingRecognizer",
        "",
        f'rec = FingerspellingRecognizer.from_pretrained("{config.name}")',
        'print(rec.predict("phrases.parquet", sequence_id=1234).text)  # an ASLFR file',
        "```",
        "",
        "## Evaluation (synthetic)",
        "",
    ]
    if val:
        lines += [
            f"Measured on {m.get('data')}, with the exported `model.tflite` through "
            "`aslsign.FingerspellingRecognizer`:",
            "",
            "| split (synthetic) | sequences | decoding | normalised Levenshtein | exact match |",
            "|---|---|---|---|---|",
        ]
        for key in ("validation", "validation_beam", "train"):
            if key in m:
                s = m[key]
                dec = "greedy" if s["beam_width"] == 1 else f"beam {s['beam_width']}"
                lines.append(
                    f"| {key.split('_')[0]} | {s['count']} | {dec} | "
                    f"{s['normalized_levenshtein']:.4f} | {s['exact_match']:.4f} |"
                )
        lines += ["", "Examples (held-out, synthetic; phrase -> transcription):", ""]
        lines += [f"- `{e['phrase']}` -> `{e['text']}`" for e in val.get("examples", [])]
        lines += ["", f"Keras vs TFLite max abs logit difference: {m.get('export_max_abs_diff')}."]
    a = t["args"]
    lines += [
        "",
        *variants_lines(config),
        "## Training",
        "",
        f"Reproduce with `{_reproduce(command)}`",
        "",
        f"- synthetic signers trained on: {t.get('train_participants')}",
        f"- synthetic signers held out: {t.get('val_participants')} (and every phrase they "
        "spell is removed from training)",
        f"- epochs {a.get('epochs')}, batch {a.get('batch_size')}, AdamW lr {a.get('lr')}, "
        f"weight decay {a.get('weight_decay')}, cosine schedule with warm-up, augmentation: "
        f"{not a.get('no_augment')}",
        f"- training time {t.get('seconds')} s on {t.get('machine')}",
        "",
        "## Input and output",
        "",
        f"Preprocessing `{config.preprocessing['name']}` (see `aslsign.preprocessing`), max "
        f"{config.preprocessing.get('max_len')} frames (longer input is resampled); model input "
        f"`{config.input.name}` {_shape(config.input.shape)}, output "
        f"`{config.output.name}` {_shape(config.output.shape)}: logits over the 59 "
        f"ASLFR characters and the CTC blank (index {config.decoding['blank_index']}), one "
        f"output step per {config.decoding['output_stride']} input frames.",
        "",
        "## License",
        "",
        f"Weights: {config.license}. Training data: synthetic, generated from the letter "
        "recordings of shravnchandr/ASL-App (MIT).",
        "",
    ]
    return add_card_metadata("\n".join(lines), config)
