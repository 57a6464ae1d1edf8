"""Tests for aslsign.landmarks: the 543-point layout, named groups and the left/right mirror."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aslsign import landmarks as L
from aslsign import load_sequence
from aslsign.landmarks import (
    ARM_POSE,
    FACE,
    GROUPS,
    HANDS,
    LEFT_ARM_POSE,
    LEFT_EYE,
    LEFT_HAND,
    LIPS,
    MIRROR,
    NOSE,
    NUM_LANDMARKS,
    POSE,
    RIGHT_ARM_POSE,
    RIGHT_EYE,
    RIGHT_HAND,
    SLICES,
    TYPE_OFFSETS,
    mirror,
)

POSE_LEFT_SHOULDER = 489 + 11
POSE_RIGHT_SHOULDER = 489 + 12

# --------------------------------------------------------------------------------------------
# Layout and groups
# --------------------------------------------------------------------------------------------


def test_layout_covers_543_rows_in_order() -> None:
    assert NUM_LANDMARKS == 543
    assert list(TYPE_OFFSETS) == ["face", "left_hand", "pose", "right_hand"]
    start = 0
    for name, (first, n) in TYPE_OFFSETS.items():
        assert first == start, name
        assert SLICES[name] == slice(first, first + n)
        start += n
    assert start == NUM_LANDMARKS
    assert tuple(range(NUM_LANDMARKS)) == FACE + LEFT_HAND + POSE + RIGHT_HAND
    assert HANDS == LEFT_HAND + RIGHT_HAND


@pytest.mark.parametrize(
    ("group", "size"),
    [
        ("lips", 40),
        ("left_eye", 16),
        ("right_eye", 16),
        ("nose", 4),
        ("left_hand", 21),
        ("right_hand", 21),
        ("hands", 42),
        ("pose", 33),
        ("face", 468),
        ("arm_pose", 10),
        ("left_arm_pose", 5),
        ("right_arm_pose", 5),
    ],
)
def test_group_sizes(group: str, size: int) -> None:
    indices = GROUPS[group]
    assert len(indices) == size
    assert len(set(indices)) == size  # no duplicates
    assert all(0 <= i < NUM_LANDMARKS for i in indices)


def test_group_constants_match_groups() -> None:
    assert GROUPS["lips"] == LIPS
    assert GROUPS["nose"] == NOSE
    assert GROUPS["left_eye"] == LEFT_EYE
    assert GROUPS["right_eye"] == RIGHT_EYE
    assert GROUPS["arm_pose"] == ARM_POSE
    assert set(ARM_POSE) == set(LEFT_ARM_POSE) | set(RIGHT_ARM_POSE)


def test_face_groups_are_face_rows() -> None:
    for group in (LIPS, NOSE, LEFT_EYE, RIGHT_EYE):
        assert set(group) <= set(FACE)
    assert set(ARM_POSE) <= set(POSE)
    # Pose model points 13-22 (elbows, wrists, pinky, index, thumb).
    assert [i - 489 for i in ARM_POSE] == list(range(13, 23))


def test_six_groups_total_118_distinct_indices() -> None:
    names = ("lips", "left_hand", "right_hand", "nose", "right_eye", "left_eye")
    indices = [i for name in names for i in GROUPS[name]]
    assert len(indices) == 118
    assert len(set(indices)) == 118


def test_groups_usable_as_array_index() -> None:
    arr = np.arange(2 * NUM_LANDMARKS * 3, dtype=np.float32).reshape(2, NUM_LANDMARKS, 3)
    assert arr[:, LIPS].shape == (2, 40, 3)
    np.testing.assert_array_equal(arr[:, LEFT_HAND], arr[:, SLICES["left_hand"]])
    np.testing.assert_array_equal(arr[:, RIGHT_HAND], arr[:, SLICES["right_hand"]])
    np.testing.assert_array_equal(arr[:, POSE], arr[:, SLICES["pose"]])


# --------------------------------------------------------------------------------------------
# MIRROR permutation
# --------------------------------------------------------------------------------------------


def test_mirror_is_a_permutation() -> None:
    assert MIRROR.shape == (NUM_LANDMARKS,)
    assert np.issubdtype(MIRROR.dtype, np.integer)
    np.testing.assert_array_equal(np.sort(MIRROR), np.arange(NUM_LANDMARKS))


def test_mirror_is_an_involution() -> None:
    np.testing.assert_array_equal(MIRROR[MIRROR], np.arange(NUM_LANDMARKS))


def test_mirror_is_read_only() -> None:
    with pytest.raises(ValueError):
        MIRROR[0] = 1


def test_mirror_swaps_hands() -> None:
    for left, right in zip(LEFT_HAND, RIGHT_HAND, strict=True):
        assert MIRROR[left] == right
        assert MIRROR[right] == left


def test_mirror_swaps_eyes() -> None:
    for left, right in zip(LEFT_EYE, RIGHT_EYE, strict=True):
        assert MIRROR[left] == right
        assert MIRROR[right] == left


def test_mirror_swaps_shoulders_and_arms() -> None:
    assert MIRROR[POSE_LEFT_SHOULDER] == POSE_RIGHT_SHOULDER
    assert MIRROR[POSE_RIGHT_SHOULDER] == POSE_LEFT_SHOULDER
    for left, right in zip(LEFT_ARM_POSE, RIGHT_ARM_POSE, strict=True):
        assert MIRROR[left] == right
        assert MIRROR[right] == left
    assert MIRROR[489] == 489  # pose 0 (nose) is on the midline


@pytest.mark.parametrize("group", ["face", "lips", "nose", "pose", "hands", "arm_pose"])
def test_mirror_maps_symmetric_groups_onto_themselves(group: str) -> None:
    indices = GROUPS[group]
    assert {int(MIRROR[i]) for i in indices} == set(indices)


def test_mirror_fixes_lip_and_nose_midline() -> None:
    # Upper/lower lip centre points (0, 17, 13, 14) and the nose tip/bridge (1, 2).
    for i in (0, 17, 13, 14, 1, 2):
        assert MIRROR[i] == i
    assert MIRROR[98] == 327 and MIRROR[327] == 98
    assert MIRROR[61] == 291 and MIRROR[291] == 61  # mouth corners


# --------------------------------------------------------------------------------------------
# mirror()
# --------------------------------------------------------------------------------------------


def _random_sequence(n_frames: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    arr = rng.random((n_frames, NUM_LANDMARKS, 3)).astype(np.float32)
    arr[rng.random((n_frames, NUM_LANDMARKS)) < 0.2] = np.nan
    return arr


def test_mirror_function_flips_x_only() -> None:
    arr = _random_sequence()
    before = arr.copy()
    out = mirror(arr)
    np.testing.assert_array_equal(arr, before)  # input untouched
    assert out.shape == arr.shape and out.dtype == arr.dtype
    permuted = arr[:, MIRROR]
    np.testing.assert_array_equal(out[..., 0], 1.0 - permuted[..., 0])
    np.testing.assert_array_equal(out[..., 1:], permuted[..., 1:])
    # Landmark i of the output is landmark MIRROR[i] of the input.
    i = LEFT_HAND[3]
    np.testing.assert_array_equal(out[:, i, 1:], arr[:, RIGHT_HAND[3], 1:])


def test_mirror_function_single_landmark_values() -> None:
    arr = np.zeros((1, NUM_LANDMARKS, 3), dtype=np.float32)
    arr[0, POSE_LEFT_SHOULDER] = (0.25, 0.5, -0.1)
    out = mirror(arr)
    np.testing.assert_array_equal(out[0, POSE_RIGHT_SHOULDER], np.float32([0.75, 0.5, -0.1]))
    np.testing.assert_array_equal(out[0, POSE_LEFT_SHOULDER], np.float32([1.0, 0.0, 0.0]))


def test_mirror_function_keeps_extra_channels() -> None:
    arr = np.random.default_rng(1).random((2, NUM_LANDMARKS, 2))
    out = mirror(arr)
    np.testing.assert_array_equal(out[..., 0], 1.0 - arr[:, MIRROR, 0])
    np.testing.assert_array_equal(out[..., 1], arr[:, MIRROR, 1])


def _assert_mirror_twice_is_identity(arr: np.ndarray) -> None:
    twice = mirror(mirror(arr))
    # NaN positions identical, y and z exact; x = 1 - (1 - x) exact up to float rounding.
    np.testing.assert_array_equal(np.isnan(twice), np.isnan(arr))
    np.testing.assert_array_equal(twice[..., 1:], arr[..., 1:])
    atol = np.finfo(arr.dtype).eps * max(1.0, float(np.nanmax(np.abs(arr[..., 0]))))
    np.testing.assert_allclose(twice[..., 0], arr[..., 0], rtol=0, atol=atol, equal_nan=True)


def test_mirror_twice_on_random_sequence() -> None:
    _assert_mirror_twice_is_identity(_random_sequence(seed=2))


def test_mirror_twice_on_real_sequence(gislr_mini: Path) -> None:
    files = sorted(gislr_mini.rglob("*.parquet"))[:5]
    assert files
    for path in files:
        arr = load_sequence(path)
        assert np.isnan(arr).any() and not np.isnan(arr).all()
        _assert_mirror_twice_is_identity(arr)
        # Mirroring swaps which hand is missing.
        once = mirror(arr)
        np.testing.assert_array_equal(
            np.isnan(once[:, list(LEFT_HAND)]), np.isnan(arr[:, list(RIGHT_HAND)])
        )


def test_all_exported_names_exist() -> None:
    for name in L.__all__:
        assert hasattr(L, name), name
