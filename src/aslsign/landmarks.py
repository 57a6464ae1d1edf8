"""The 543-point MediaPipe Holistic landmark layout used by the Kaggle GISLR/ASLFR data.

Row order within one frame (the order of the GISLR parquet files)::

    face        0 – 467   (468 face-mesh points)
    left_hand 468 – 488   (21 hand points)
    pose      489 – 521   (33 pose points)
    right_hand 522 – 542  (21 hand points)

The named groups below are the landmark subsets the public GISLR solutions select:
the 40 lip points, nose and eye points used by both the 1st-place solution (hoyso48) and Mark
Wijkhuizen's Transformer, and the arm pose points (elbow, wrist and hand points of the pose model).
All indices are *global* (0–542), so ``landmarks[:, LIPS]`` works on a (frames, 543, 3) array.

:data:`MIRROR` is a permutation of the 543 rows that swaps the left and right side of the body
(hands, pose pairs, and the named lip/eye/nose pairs); apply it together with ``x -> 1 - x`` to
mirror a sequence. Face-mesh points outside the named groups are left in place.

The ``*_CONNECTIONS`` tuples are the Holistic topology as (row, row) pairs of global rows, for
drawing skeletons: the 21-point hand graph for each hand, the upper body of the pose model
(pose points 0-24) and the face-mesh contours (oval, lips, eyes, eyebrows; the edges of
MediaPipe's ``FACEMESH_CONTOURS``).
"""

from __future__ import annotations

import itertools

import numpy as np

from .errors import InputValueError

__all__ = [
    "ARM_POSE",
    "ASLFR_COLUMNS",
    "FACE",
    "FACE_CONNECTIONS",
    "GROUPS",
    "HANDS",
    "HAND_CONNECTIONS",
    "LEFT_ARM_POSE",
    "LEFT_EYE",
    "LEFT_HAND",
    "LEFT_HAND_CONNECTIONS",
    "LIPS",
    "MAX_ABS_COORDINATE",
    "MIRROR",
    "NOSE",
    "NUM_LANDMARKS",
    "POSE",
    "POSE_CONNECTIONS_UPPER_BODY",
    "RIGHT_ARM_POSE",
    "RIGHT_EYE",
    "RIGHT_HAND",
    "RIGHT_HAND_CONNECTIONS",
    "SLICES",
    "TYPE_OFFSETS",
    "check_coordinates",
    "hand_present",
    "landmark_name",
    "mirror",
]

NUM_LANDMARKS = 543

#: ``type`` value in a GISLR parquet -> (first global row, number of points).
TYPE_OFFSETS: dict[str, tuple[int, int]] = {
    "face": (0, 468),
    "left_hand": (468, 21),
    "pose": (489, 33),
    "right_hand": (522, 21),
}
SLICES: dict[str, slice] = {k: slice(a, a + n) for k, (a, n) in TYPE_OFFSETS.items()}

#: The largest coordinate magnitude a landmark may have. MediaPipe gives x and y normalised to
#: the image (0..1, a little beyond near the edges) and z on about the same scale, so real values
#: stay within a few units; 10,000 leaves room for pixel coordinates and any rescaling while
#: refusing the +-inf and 1e30-style values of a broken producer. Every loader, the stream's
#: ``push`` and the preprocessing pipelines raise :class:`aslsign.errors.InputValueError` for a
#: value beyond it (NaN is fine: it marks a landmark that was not detected).
MAX_ABS_COORDINATE = 1e4

FACE = tuple(range(0, 468))
LEFT_HAND = tuple(range(468, 489))
POSE = tuple(range(489, 522))
RIGHT_HAND = tuple(range(522, 543))
HANDS = LEFT_HAND + RIGHT_HAND

# Face-mesh indices (face rows are global rows 0-467 too).
LIPS = (
    0,
    61,
    185,
    40,
    39,
    37,
    267,
    269,
    270,
    409,
    291,
    146,
    91,
    181,
    84,
    17,
    314,
    405,
    321,
    375,
    78,
    191,
    80,
    81,
    82,
    13,
    312,
    311,
    310,
    415,
    95,
    88,
    178,
    87,
    14,
    317,
    402,
    318,
    324,
    308,
)
NOSE = (1, 2, 98, 327)
# "Left"/"right" follow MediaPipe's naming (the subject's side), index i of one eye mirrors
# index i of the other.
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398)

# Pose model points 13-22: elbows, wrists, pinky, index and thumb of each arm.
LEFT_ARM_POSE = tuple(489 + i for i in (13, 15, 17, 19, 21))
RIGHT_ARM_POSE = tuple(489 + i for i in (14, 16, 18, 20, 22))
ARM_POSE = tuple(sorted(LEFT_ARM_POSE + RIGHT_ARM_POSE))

#: Named groups; config files refer to landmark selections by these names.
GROUPS: dict[str, tuple[int, ...]] = {
    "face": FACE,
    "lips": LIPS,
    "nose": NOSE,
    "right_eye": RIGHT_EYE,
    "left_eye": LEFT_EYE,
    "left_hand": LEFT_HAND,
    "right_hand": RIGHT_HAND,
    "hands": HANDS,
    "pose": POSE,
    "left_arm_pose": LEFT_ARM_POSE,
    "right_arm_pose": RIGHT_ARM_POSE,
    "arm_pose": ARM_POSE,
}

# Mirror pairs (left, right) beyond the hands.
_LIP_PAIRS = tuple(
    zip(
        (84, 181, 91, 146, 61, 185, 40, 39, 37, 87, 178, 88, 95, 78, 191, 80, 81, 82),
        (314, 405, 321, 375, 291, 409, 270, 269, 267, 317, 402, 318, 324, 308, 415, 310, 311, 312),
        strict=True,
    )
)
_NOSE_PAIRS = ((98, 327),)
# Pose model: 1-3 left eye, 4-6 right eye, 7/8 ears, 9/10 mouth, then (odd, even) left/right
# pairs from the shoulders (11, 12) down to the feet (31, 32).
_POSE_PAIRS = tuple((489 + a, 489 + b) for a, b in [(1, 4), (2, 5), (3, 6)])
_POSE_PAIRS += tuple((489 + a, 489 + a + 1) for a in range(7, 33, 2))


def _mirror_permutation() -> np.ndarray:
    perm = np.arange(NUM_LANDMARKS)
    pairs = list(zip(LEFT_HAND, RIGHT_HAND, strict=True)) + list(
        zip(LEFT_EYE, RIGHT_EYE, strict=True)
    )
    pairs += list(_LIP_PAIRS + _NOSE_PAIRS + _POSE_PAIRS)
    for a, b in pairs:
        perm[a], perm[b] = b, a
    perm.setflags(write=False)
    return perm


def _aslfr_columns() -> tuple[str, ...]:
    names = [f"{t}_{i}" for t, (_, n) in TYPE_OFFSETS.items() for i in range(n)]
    return tuple(f"{c}_{name}" for c in "xyz" for name in names)


#: The 1,629 coordinate columns of a Kaggle ASLFR (fingerspelling) parquet file, in file order:
#: ``x_face_0 ... x_right_hand_20``, then the same for ``y`` and ``z``. Column ``k`` holds
#: coordinate ``k // 543`` of landmark row ``k % 543``.
ASLFR_COLUMNS: tuple[str, ...] = _aslfr_columns()

#: Row permutation that swaps the left and right side (an involution: MIRROR[MIRROR] == identity).
MIRROR: np.ndarray = _mirror_permutation()


def landmark_name(row: int) -> str:
    """``"right_hand 11"`` for global row 533: the ``type`` and ``landmark_index`` of a row."""
    for name, (start, count) in TYPE_OFFSETS.items():
        if start <= row < start + count:
            return f"{name} {row - start}"
    raise IndexError(f"landmark row {row} is outside 0..{NUM_LANDMARKS - 1}")


def check_coordinates(
    landmarks: np.ndarray, origin: str = "landmarks", original: np.ndarray | None = None
) -> None:
    """Raise :class:`~aslsign.errors.InputValueError` when a value of a float ``(frames, 543, 3)``
    (or one ``(543, 3)`` frame) is +-inf or beyond :data:`MAX_ABS_COORDINATE` in magnitude.

    NaN (not detected) passes. The message names the first bad frame (its index in
    ``landmarks``), landmark and coordinate; ``original`` (same shape) supplies the value shown
    when ``landmarks`` is a converted copy (a float64 1e300 is inf in float32).
    """
    x = np.asarray(landmarks)
    if not x.size:
        return
    flat = x.reshape(-1)
    # fmax/fmin skip NaN (all NaN gives NaN, which compares False) and are as fast as max/min:
    # the common case costs two reductions
    if not (
        np.fmax.reduce(flat) > MAX_ABS_COORDINATE or np.fmin.reduce(flat) < -MAX_ABS_COORDINATE
    ):
        return
    where = np.argwhere(np.abs(x) > MAX_ABS_COORDINATE)[0]
    frame, (row, axis) = (int(where[0]) if x.ndim == 3 else None), where[-2:]
    value = (original if original is not None else x)[tuple(where)].item()
    at = "" if frame is None else f"frame {frame}, "
    raise InputValueError(
        f"{origin}: {at}landmark {landmark_name(int(row))} (row {int(row)}) has "
        f"{'xyz'[int(axis)]} = {value:.7g}. Landmark coordinates must be finite numbers within "
        f"+-{MAX_ABS_COORDINATE:g} (MediaPipe gives normalised image coordinates, about 0..1); "
        "write NaN for a landmark that was not detected."
    )


def hand_present(landmarks: np.ndarray) -> np.ndarray:
    """Per frame of ``(frames, 543, 3)`` landmarks: was either hand detected (a point of it not
    NaN)? A bool vector of ``frames``."""
    x = landmarks[:, :, 0]
    left, right = SLICES["left_hand"], SLICES["right_hand"]
    return np.isfinite(x[:, left]).any(axis=1) | np.isfinite(x[:, right]).any(axis=1)


def mirror(landmarks: np.ndarray) -> np.ndarray:
    """Mirror a (frames, 543, C) sequence left <-> right: swap sides and map x to 1 - x."""
    out = landmarks[..., MIRROR, :].copy()
    out[..., 0] = 1.0 - out[..., 0]
    return out


# --- Connections (skeleton edges) ---------------------------------------------------------------


def _chain(*points: int) -> tuple[tuple[int, int], ...]:
    """Edges of the polyline through ``points``."""
    return tuple(itertools.pairwise(points))


def _offset(edges: tuple[tuple[int, int], ...], base: int) -> tuple[tuple[int, int], ...]:
    return tuple((base + a, base + b) for a, b in edges)


# The 21-point hand: 0 wrist, 1-4 thumb, 5-8 index, 9-12 middle, 13-16 ring, 17-20 pinky.
_HAND_EDGES = (
    _chain(0, 1, 2, 3, 4)  # thumb
    + _chain(5, 6, 7, 8)  # index
    + _chain(9, 10, 11, 12)  # middle
    + _chain(13, 14, 15, 16)  # ring
    + _chain(17, 18, 19, 20)  # pinky
    + _chain(0, 5, 9, 13, 17, 0)  # palm
)
#: Hand graph in hand-local indices 0-20 (21 edges); offset it into a hand's rows to use it.
HAND_CONNECTIONS: tuple[tuple[int, int], ...] = _HAND_EDGES
LEFT_HAND_CONNECTIONS = _offset(_HAND_EDGES, TYPE_OFFSETS["left_hand"][0])
RIGHT_HAND_CONNECTIONS = _offset(_HAND_EDGES, TYPE_OFFSETS["right_hand"][0])

# Pose model 0-24: 0 nose, 1-3 left eye, 4-6 right eye, 7/8 ears, 9/10 mouth, 11/12 shoulders,
# 13/14 elbows, 15/16 wrists, 17-22 pinky/index/thumb, 23/24 hips (the legs, 25-32, are left out:
# the GISLR camera rarely sees them).
_POSE_EDGES = (
    _chain(0, 1, 2, 3, 7)  # nose -> left eye -> left ear
    + _chain(0, 4, 5, 6, 8)  # nose -> right eye -> right ear
    + _chain(9, 10)  # mouth
    + _chain(11, 12)  # shoulders
    + _chain(11, 13, 15, 17, 19, 15, 21)  # left arm and hand points
    + _chain(12, 14, 16, 18, 20, 16, 22)  # right arm and hand points
    + _chain(11, 23, 24, 12)  # torso
)
POSE_CONNECTIONS_UPPER_BODY = _offset(_POSE_EDGES, TYPE_OFFSETS["pose"][0])

# Face-mesh contours (face rows are global rows 0-467, no offset).
_FACE_OVAL = _chain(
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109, 10,
)  # fmt: skip
_LIPS_EDGES = (
    _chain(61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)  # outer, lower
    + _chain(61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)  # outer, upper
    + _chain(78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)  # inner, lower
    + _chain(78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)  # inner, upper
)
_LEFT_EYE_EDGES = _chain(263, 249, 390, 373, 374, 380, 381, 382, 362) + _chain(
    263, 466, 388, 387, 386, 385, 384, 398, 362
)
_RIGHT_EYE_EDGES = _chain(33, 7, 163, 144, 145, 153, 154, 155, 133) + _chain(
    33, 246, 161, 160, 159, 158, 157, 173, 133
)
_LEFT_EYEBROW_EDGES = _chain(276, 283, 282, 295, 285) + _chain(300, 293, 334, 296, 336)
_RIGHT_EYEBROW_EDGES = _chain(46, 53, 52, 65, 55) + _chain(70, 63, 105, 66, 107)
FACE_CONNECTIONS = (
    _FACE_OVAL
    + _LIPS_EDGES
    + _LEFT_EYE_EDGES
    + _RIGHT_EYE_EDGES
    + _LEFT_EYEBROW_EDGES
    + _RIGHT_EYEBROW_EDGES
)
