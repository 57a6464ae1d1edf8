"""Synthetic fingerspelling in the Kaggle ASLFR format, made from recordings of single letters.

There is no real fingerspelling data here, so this generator writes a dataset that looks like
the competition's (``train.csv`` + wide parquet files of many sequences, 543 MediaPipe Holistic
landmarks per frame) from one signer's recordings of isolated letters and digits
(``fingerspelling-letters``: shravnchandr/ASL-App, MIT; read in place). **Everything it makes is
SYNTHETIC: any number measured on it must say so.** It is for exercising and demonstrating the
pipeline; a model trained on it has never seen real fingerspelling.

How a phrase is rendered
    Each character's clip is trimmed a little, resampled in time to the signer's pace (a base
    number of frames per character drawn per signer, jittered per character; nearest-frame or
    linear interpolation), and joined to the next by a transition that interpolates every
    landmark (linear or eased, sometimes none). The body (face, torso) is one clip's
    throughout; each clip's hand and arm are moved to it, keeping their place relative to the
    shoulders (a quarter of the phrases keep each clip's own body instead, small jumps and
    all). Transitions are an interpolation, a hold of the last frame, or a cut. A repeated
    letter ("ll", "00") mostly gets a small sideways bounce of the hand between the two, as
    signers do; otherwise only its length tells it from one held letter.

Characters without a recording (documented stand-ins)
    ``0``: the ``o`` clip (ASL zero resembles O; only context tells them apart).
    space: a pause: the previous hand shape held for a few frames while the hand drifts
    sideways by about a hand width (later letters stay at the new place, as a signer moves
    along). ``- . / @ : +``: air-drawn strokes of the index-finger hand shape (the ``1`` clip):
    ``-`` a horizontal stroke, ``/`` a diagonal one, ``.`` a short forward-and-down jab, ``@``
    a circle, ``:`` two small jabs, ``+`` a horizontal then a vertical stroke.
    ``ten`` is not used. No other characters are generated.

Synthetic signers (:class:`Signer`)
    Scale 0.8-1.25 and rotation +-20 deg about the image centre, shift +-0.1, left-handed with
    probability 0.25 (the whole sequence mirrored, so the hand appears as ``left_hand``), hand
    size 0.85-1.15 and a fixed per-joint hand-shape offset (about 3 % of the hand's size),
    pace 5-28 frames per character, transitions 1-7 frames, landmark noise 0.001-0.006, hand
    frames dropped with probability 0-0.12 (sometimes in bursts).

Phrases
    In the competition's style (addresses, phone numbers, URLs, e-mail addresses, names), lower
    case, at most 31 characters, plus about a third uniformly random strings of letters and
    digits (so that a model learns the characters rather than a language).

CLI::

    python training_recipes/synth_fingerspelling.py \\
        --letters ../shared/data/fingerspelling-letters --out runs/synth --phrases 4000 \\
        --seed 0 [--signers 12] [--sequences-per-file 1000]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `training_recipes` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from aslsign import landmarks as lm
from aslsign.characters import CHARACTER_MAP_FILE, character_map
from aslsign.io import write_fingerspelling

__all__ = [
    "RENDERABLE",
    "Signer",
    "generate",
    "load_letter_clips",
    "make_phrase",
    "make_signer",
    "render_phrase",
]

DIGIT_FILES = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
STROKES = "-./@:+"
#: Every character the generator can render.
RENDERABLE = frozenset(LETTERS + DIGITS + STROKES + " ")

# rows of the right (recorded) hand and arm: hand points and pose 13-22 (elbow, wrist, fingers)
_HAND = np.array(lm.RIGHT_HAND, np.intp)
_ARM = np.array(lm.RIGHT_HAND + tuple(lm.POSE[i] for i in (14, 16, 18, 20, 22)), np.intp)
_SHOULDERS = (lm.POSE[11], lm.POSE[12])


# ----------------------------------------------------------------------------- recordings


def load_letter_clips(letters_dir: str | Path) -> dict[str, np.ndarray]:
    """Character -> float32 ``(frames, 543, 3)`` clip (NaN = not detected), '0' included."""
    root = Path(letters_dir)
    meta_path = root / "metadata.json"
    if not meta_path.is_file():
        raise SystemExit(f"{root} is not the fingerspelling-letters folder (no metadata.json).")
    face_rows = np.array(json.loads(meta_path.read_text())["face_indices"], np.intp)
    clips: dict[str, np.ndarray] = {}
    names = {c: c for c in LETTERS} | {k: v for k, v in DIGIT_FILES.items()}
    for name, char in names.items():
        path = root / f"{name}.json"
        if not path.is_file():
            raise SystemExit(f"Missing recording {path}.")
        frames = json.loads(path.read_text())["frames"]
        x = np.full((len(frames), lm.NUM_LANDMARKS, 3), np.nan, np.float32)
        for t, frame in enumerate(frames):
            for part, rows in (
                ("pose", lm.POSE),
                ("left_hand", lm.LEFT_HAND),
                ("right_hand", lm.RIGHT_HAND),
                ("face", face_rows),
            ):
                points = frame.get(part)
                if not points:
                    continue
                values = np.array([p if p is not None else [np.nan] * 3 for p in points], float)
                x[t, np.asarray(rows)[: len(values)]] = values
        clips[char] = x
    clips["0"] = clips["o"]  # stand-in: ASL zero resembles O
    return clips


# ----------------------------------------------------------------------------- phrases


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_STREETS = _words(
    "maple oak pine cedar elm main park lake hill river sunset highland lincoln "
    "washington church spring willow meadow forest valley ridge harbor bay ocean mill "
    "franklin jackson madison chestnut walnut birch aspen summit college market union "
    "center north south"
)
_SUFFIXES = _words("street st avenue ave road rd drive dr lane ln way court ct blvd place pl")
_FIRST = _words(
    "maria james john linda michael sarah david emma daniel olivia sophia liam noah ava "
    "lucas mia ethan grace henry chloe jack lily owen zoe leo nora kai ruby max ivy"
)
_LAST = _words(
    "smith johnson lopez garcia miller davis brown wilson moore taylor anderson thomas "
    "white harris martin clark lewis young king wright scott green baker adams nelson "
    "hill"
)
_WORDS = _words(
    "river tech shop news cloud data blue green fast home food travel music photo code "
    "smart city art book game health sun star net web mail app hub lab box zen"
)
_TLDS = _words("com org net edu io co us gov info")
_CITIES = _words("austin denver boston seattle portland dallas miami chicago phoenix atlanta")


def _number(rng: np.random.Generator, lo: int, hi: int) -> str:
    return str(int(rng.integers(lo, hi)))


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, n))


def make_phrase(rng: np.random.Generator) -> str:
    """One phrase in the competition's style, or (about a third) a random string."""
    pick = lambda words: str(rng.choice(words))  # noqa: E731
    style = rng.random()
    if style < 0.33:
        alphabet = LETTERS + DIGITS if rng.random() < 0.7 else LETTERS + DIGITS + " "
        n = int(rng.integers(3, 26))
        phrase = "".join(rng.choice(list(alphabet), n)).strip()
        return phrase if phrase else "a"
    if style < 0.5:
        phrase = f"{_number(rng, 1, 9999)} {pick(_STREETS)} {pick(_SUFFIXES)}"
        if rng.random() < 0.3:
            phrase += f" {pick(_CITIES)}" if rng.random() < 0.5 else f" apt {_number(rng, 1, 99)}"
    elif style < 0.65:
        parts = [_digits(rng, 3), _digits(rng, 3), _digits(rng, 4)]
        sep = str(rng.choice(["-", " ", ".", ""]))
        phrase = sep.join(parts)
        if rng.random() < 0.3:
            phrase = f"+{_number(rng, 1, 99)}{sep or '-'}{phrase}"
    elif style < 0.8:
        host = pick(_WORDS) + (pick(_WORDS) if rng.random() < 0.5 else "")
        if rng.random() < 0.3:
            host = f"{host}-{pick(_WORDS)}"
        phrase = f"{host}.{pick(_TLDS)}"
        r = rng.random()
        if r < 0.3:
            phrase = "www." + phrase
        elif r < 0.5:
            phrase = "https://" + phrase
        if rng.random() < 0.3:
            phrase += f"/{pick(_WORDS)}"
    elif style < 0.9:
        sep = str(rng.choice([".", "", "-"]))
        user = f"{pick(_FIRST)}{sep}{pick(_LAST)}"
        if rng.random() < 0.3:
            user += _number(rng, 1, 99)
        phrase = f"{user}@{pick(_WORDS)}.{pick(_TLDS)}"
    else:
        phrase = f"{pick(_FIRST)} {pick(_LAST)}"
    return phrase[:31].strip() or "a"


# ----------------------------------------------------------------------------- signers


@dataclass(frozen=True)
class Signer:
    """The parameters of one synthetic signer (see the module docstring for the ranges)."""

    participant_id: int
    scale: float
    rotation_deg: float
    shift: tuple[float, float]
    left_handed: bool
    hand_size: float
    hand_offsets: tuple[tuple[float, float], ...]  # 21 (dx, dy), in units of hand size
    frames_per_char: float
    transition_frames: float
    noise: float
    drop_prob: float
    interpolation: str  # "nearest" or "linear"


def long_phrases(
    letters_dir: str | Path,
    count: int,
    seed: int,
    min_chars: int = 40,
    max_chars: int = 60,
) -> list[tuple[str, np.ndarray]]:
    """``count`` SYNTHETIC spelled phrases of ``min_chars``-``max_chars`` characters (phrases of
    :func:`make_phrase` joined by spaces), each rendered by a new synthetic signer: what the
    spotting tests and benchmarks read as a long phrase spelled in one go."""
    clips = load_letter_clips(letters_dir)
    rng = np.random.default_rng(seed)
    items: list[tuple[str, np.ndarray]] = []
    while len(items) < count:
        text = make_phrase(rng)
        while len(text) < min_chars:
            text += " " + make_phrase(rng)
        text = text[:max_chars].strip()
        if len(text) >= min_chars:
            signer = make_signer(int(rng.integers(10000, 99999)), rng)
            items.append((text, render_phrase(text, clips, signer, rng)))
    return items


def make_signer(participant_id: int, rng: np.random.Generator) -> Signer:
    """A synthetic signer with parameters drawn from ``rng``."""
    return Signer(
        participant_id=participant_id,
        scale=float(rng.uniform(0.8, 1.25)),
        rotation_deg=float(rng.uniform(-20, 20)),
        shift=(float(rng.uniform(-0.1, 0.1)), float(rng.uniform(-0.1, 0.1))),
        left_handed=bool(rng.random() < 0.25),
        hand_size=float(rng.uniform(0.85, 1.15)),
        hand_offsets=tuple(
            (float(a), float(b)) for a, b in rng.normal(0.0, 0.03, (21, 2)).round(4)
        ),
        frames_per_char=float(rng.uniform(5, 28)),
        transition_frames=float(rng.uniform(1, 7)),
        noise=float(rng.uniform(0.001, 0.006)),
        drop_prob=float(rng.uniform(0.0, 0.12)),
        interpolation=str(rng.choice(["nearest", "linear"])),
    )


# ----------------------------------------------------------------------------- rendering


def _resample(x: np.ndarray, n: int, method: str) -> np.ndarray:
    """``x`` (frames, rows, 3) played in ``n`` frames; linear keeps NaN where a side is NaN."""
    pos = np.linspace(0, len(x) - 1, n)
    if method == "nearest" or len(x) == 1:
        return x[np.round(pos).astype(np.intp)]
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, len(x) - 1)
    w = (pos - lo).astype(np.float32)[:, None, None]
    return x[lo] * (1 - w) + x[hi] * w


def _hand_size(frame: np.ndarray) -> float:
    hand = frame[_HAND]
    d = np.linalg.norm(hand[9, :2] - hand[0, :2])
    return float(d) if np.isfinite(d) and d > 0 else 0.05


def _stroke(kind: str, n: int, size: float) -> np.ndarray:
    """(n, 3) hand displacement of an air-drawn stroke, in image units."""
    s = np.linspace(0.0, 1.0, n)
    w = 1.5 * size
    zero = np.zeros(n)
    if kind == "-":
        path = [w * (s - 0.5), zero, zero]
    elif kind == "/":
        path = [w * (s - 0.5), -w * (s - 0.5), zero]
    elif kind == ".":
        jab = np.sin(np.pi * s)
        path = [zero, 0.3 * w * jab, -0.5 * w * jab]
    elif kind == ":":
        jab = np.abs(np.sin(2 * np.pi * s))
        path = [zero, 0.3 * w * jab, -0.4 * w * jab]
    elif kind == "@":
        path = [0.5 * w * np.cos(2 * np.pi * s), 0.5 * w * np.sin(2 * np.pi * s), zero]
    elif kind == "+":
        first, second = s < 0.5, s >= 0.5
        path = [
            np.where(first, w * (2 * s - 0.5), 0.0),
            np.where(second, w * (2 * (s - 0.5) - 0.5), 0.0),
            zero,
        ]
    else:
        raise ValueError(f"no stroke for {kind!r}")
    return np.stack(path, axis=1).astype(np.float32)


def render_phrase(
    phrase: str, clips: dict[str, np.ndarray], signer: Signer, rng: np.random.Generator
) -> np.ndarray:
    """One phrase as float32 ``(frames, 543, 3)`` landmarks (NaN = not detected)."""
    unknown = sorted(set(phrase) - RENDERABLE)
    if unknown:
        raise ValueError(f"Cannot render {unknown} (renderable: letters, digits, ' -./@:+').")
    body = clips[LETTERS[int(rng.integers(0, 26))]][0].copy()  # one body for the whole phrase
    body_mid = np.nanmean(body[list(_SHOULDERS), :2], axis=0)
    own_bodies = rng.random() < 0.25  # some phrases keep each clip's own body, as recorded
    size = _hand_size(body)
    segments: list[np.ndarray] = []  # each (frames, 543, 3)
    drift = np.zeros(3, np.float32)
    prev_char = None

    def placed(clip: np.ndarray) -> np.ndarray:
        """The clip on the phrase's body: its hand and arm moved with its shoulders."""
        if own_bodies:
            return clip.copy()
        mid = np.nanmean(clip[:, list(_SHOULDERS), :2], axis=(0, 1))
        offset = np.zeros(3, np.float32)
        offset[:2] = body_mid - (mid if np.isfinite(mid).all() else body_mid)
        out = np.repeat(body[None], len(clip), axis=0)
        out[:, _ARM] = clip[:, _ARM] + offset
        return out

    def pace() -> int:
        return max(4, round(signer.frames_per_char * rng.uniform(0.7, 1.4)))

    for char in phrase:
        if char == " ":
            last = segments[-1][-1] if segments else placed(clips["a"])[0]
            n = max(4, round(pace() * rng.uniform(0.6, 1.2)))
            step = np.zeros((len(_ARM), 3), np.float32)
            step[:, :2] = [rng.uniform(0.8, 1.5) * size, rng.uniform(-0.2, 0.2) * size]
            ramp = np.linspace(0, 1, n)[:, None, None].astype(np.float32)
            pause = np.repeat(last[None], n, axis=0)
            pause[:, _ARM] += ramp * step
            segments.append(pause)
            drift += step[0]
            if abs(drift[0]) > 4 * size:  # the hand comes back towards the middle
                drift[0] *= -0.5
            prev_char = char
            continue
        if char in STROKES:
            base = placed(clips["1"])
            shape = base[len(base) // 2]
            n = max(6, round(pace() * rng.uniform(0.9, 1.4)))
            seg = np.repeat(shape[None], n, axis=0)
            seg[:, _ARM] += _stroke(char, n, size)[:, None, :]
        else:
            clip = placed(clips[char])
            a = int(rng.integers(0, min(4, len(clip) // 4) + 1))
            b = len(clip) - int(rng.integers(0, min(4, len(clip) // 4) + 1))
            clip = clip[a:b] if b - a >= 2 else clip
            seg = _resample(clip, pace(), signer.interpolation)
        seg[:, _ARM] += drift
        if segments:
            last, first = segments[-1][-1], seg[0]
            k = round(signer.transition_frames * rng.uniform(0.5, 1.5))
            bounce = char == prev_char and rng.random() < 0.6
            kind = rng.random()
            if kind < 0.1 and not bounce:
                k = 0  # no transition: a cut
            if bounce:
                k = max(k, 3)
            if k and kind < 0.25 and not bounce:  # a hold of the last frame
                segments.append(np.repeat(last[None], k, axis=0))
            elif k:
                s = np.linspace(0, 1, k + 2)[1:-1].astype(np.float32)
                if rng.random() < 0.5:
                    s = (0.5 - 0.5 * np.cos(np.pi * s)).astype(np.float32)  # eased
                trans = last[None] * (1 - s[:, None, None]) + first[None] * s[:, None, None]
                if bounce:  # a sideways bounce between repeated letters, as signers do
                    amp = rng.uniform(0.4, 1.0) * size * rng.choice([-1, 1])
                    wave = amp * np.sin(np.pi * np.linspace(0, 1, k + 2)[1:-1])
                    trans[:, _ARM, 0] += wave[:, None].astype(np.float32)
                segments.append(trans)
        segments.append(seg)
        prev_char = char
    out = np.concatenate(segments).astype(np.float32)
    return _apply_signer(out, signer, rng)


def _apply_signer(x: np.ndarray, signer: Signer, rng: np.random.Generator) -> np.ndarray:
    """Hand shape and size, drops, noise, then the signer's similarity transform and side."""
    size = _hand_size(x[0])
    wrist = x[:, _HAND[:1], :]
    hand = x[:, _HAND] - wrist
    hand[..., :2] += np.asarray(signer.hand_offsets, np.float32) * size
    x[:, _HAND] = wrist + hand * signer.hand_size
    n = len(x)
    dropped = rng.random(n) < signer.drop_prob
    if signer.drop_prob > 0 and n > 10 and rng.random() < 0.3:  # a burst of missing hands
        start = int(rng.integers(0, n - 5))
        dropped[start : start + int(rng.integers(2, 6))] = True
    x[dropped[:, None] & np.isin(np.arange(lm.NUM_LANDMARKS), _HAND)[None, :]] = np.nan
    x = x + rng.normal(0.0, signer.noise, x.shape).astype(np.float32)
    angle = math.radians(signer.rotation_deg)
    c, s = math.cos(angle), math.sin(angle)
    m = np.array([[c, -s], [s, c]], np.float32) * signer.scale
    x[..., :2] = (x[..., :2] - 0.5) @ m.T + 0.5 + np.asarray(signer.shift, np.float32)
    x[..., 2] *= signer.scale
    if signer.left_handed:
        x = lm.mirror(x)
    return x.astype(np.float32)


# ----------------------------------------------------------------------------- dataset


def generate(
    letters_dir: str | Path,
    out_dir: str | Path,
    n_phrases: int,
    seed: int,
    *,
    n_signers: int = 12,
    sequences_per_file: int = 1000,
    sequences_per_row_group: int = 32,
    progress: bool = False,
) -> Path:
    """Write a synthetic ASLFR-format dataset (see the module docstring); return ``out_dir``."""
    if n_phrases < 1 or n_signers < 1 or sequences_per_file < 1:
        raise SystemExit("--phrases, --signers and --sequences-per-file must be >= 1.")
    clips = load_letter_clips(letters_dir)
    out = Path(out_dir)
    (out / "train_landmarks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    signer_ids = sorted(int(i) for i in rng.choice(90000, n_signers, replace=False) + 10000)
    signers = [make_signer(pid, rng) for pid in signer_ids]
    n_files = -(-n_phrases // sequences_per_file)
    file_ids = sorted(int(i) for i in rng.choice(2**31 - 1, n_files, replace=False))
    sequence_ids = rng.choice(2**31 - 1, n_phrases, replace=False)
    rows: list[list[object]] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_phrases, desc="rendering", unit="phrase", file=sys.stderr)
    lengths: list[int] = []

    def file_items(k: int) -> Iterator[tuple[int, np.ndarray]]:
        for i in range(k * sequences_per_file, min(n_phrases, (k + 1) * sequences_per_file)):
            signer = signers[int(rng.integers(0, n_signers))]
            phrase = make_phrase(rng)
            x = render_phrase(phrase, clips, signer, rng)
            sid = int(sequence_ids[i])
            rel = f"train_landmarks/{file_ids[k]}.parquet"
            rows.append([rel, file_ids[k], sid, signer.participant_id, phrase])
            lengths.append(len(x))
            if bar is not None:
                bar.update(1)
            yield sid, x

    for k, file_id in enumerate(file_ids):
        write_fingerspelling(
            out / "train_landmarks" / f"{file_id}.parquet",
            file_items(k),
            sequences_per_row_group=sequences_per_row_group,
        )
    if bar is not None:
        bar.close()
    with (out / "train.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "file_id", "sequence_id", "participant_id", "phrase"])
        w.writerows(rows)
    (out / CHARACTER_MAP_FILE).write_text(json.dumps(character_map()) + "\n")
    info = {
        "synthetic": True,
        "source": "one signer's isolated letter/digit recordings (shravnchandr/ASL-App, MIT)",
        "letters_dir": str(letters_dir),
        "seed": seed,
        "phrases": n_phrases,
        "signers": [asdict(s) for s in signers],
        "characters": "".join(sorted(RENDERABLE)),
        "stand_ins": {
            "0": "the 'o' clip",
            " ": "previous hand shape held while the hand drifts sideways ~1 hand width",
            "-./@:+": "air-drawn strokes of the '1' hand shape (horizontal, diagonal, jab, "
            "circle, two jabs, cross)",
        },
        "frames": {
            "min": int(min(lengths)),
            "median": int(np.median(lengths)),
            "max": int(max(lengths)),
        },
    }
    (out / "synth_info.json").write_text(json.dumps(info, indent=2) + "\n")
    return out


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--letters", required=True, type=Path, help="fingerspelling-letters folder")
    p.add_argument("--out", required=True, type=Path, help="dataset folder to write")
    p.add_argument("--phrases", required=True, type=int, help="number of phrases")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--signers", type=int, default=12, help="number of synthetic signers")
    p.add_argument("--sequences-per-file", type=int, default=1000)
    args = p.parse_args(argv)
    start = time.perf_counter()
    out = generate(
        args.letters,
        args.out,
        args.phrases,
        args.seed,
        n_signers=args.signers,
        sequences_per_file=args.sequences_per_file,
        progress=sys.stderr.isatty(),
    )
    info = json.loads((out / "synth_info.json").read_text())
    frames = info["frames"]
    files = len(list((out / "train_landmarks").glob("*.parquet")))
    print(
        f"wrote {args.phrases} SYNTHETIC sequences in {files} files to {out} "
        f"({len(info['signers'])} signers; frames per sequence min {frames['min']}, median "
        f"{frames['median']}, max {frames['max']}; {time.perf_counter() - start:.0f} s)"
    )
    return out


if __name__ == "__main__":
    main()
