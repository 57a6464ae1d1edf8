"""config.json validation: every field's type and range, at load time, and no config value can
reach the filesystem outside the artifact directory.

Also the recognisers' numeric arguments (``top_k``, ``beam_width``, ``batch_size``,
``max_batch_frames``, ``num_threads``, stream options)."""

from __future__ import annotations

import copy
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from aslsign import FingerspellingRecognizer, SignRecognizer
from aslsign.config import FORMAT_VERSION, ModelConfig, sha256_file
from aslsign.errors import AslSignError, ConfigError, ModelFileError, ModelNotFoundError
from aslsign.io import read_examples
from aslsign.preprocessing import from_config
from aslsign.registry import DEFAULT_FINGERSPELLING_MODEL, DEFAULT_MODEL, list_models, zoo_dir

SIGN = zoo_dir() / DEFAULT_MODEL
SPELL = zoo_dir() / DEFAULT_FINGERSPELLING_MODEL


def _config(root: Path) -> dict[str, Any]:
    return json.loads((root / "config.json").read_text())


def _set(d: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``d`` with ``a.b.c`` set (or removed, for the ``_DELETE`` marker)."""
    out = copy.deepcopy(d)
    *parents, last = dotted.split(".")
    node = out
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return out


_DELETE = object()


def _artifact(tmp_path: Path, source: Path, config: dict[str, Any]) -> Path:
    """An artifact directory: the bundled model.tflite and README.md, and ``config``."""
    root = tmp_path / "artifact"
    root.mkdir()
    for name in ("model.tflite", "README.md"):
        shutil.copyfile(source / name, root / name)
    (root / "config.json").write_text(json.dumps(config))
    return root


# ------------------------------------------------------------------------- the bundled configs


@pytest.mark.parametrize("entry", list_models())
def test_every_bundled_config_is_valid(entry: str) -> None:
    config = ModelConfig.load(zoo_dir() / entry / "config.json")
    assert config.format_version == FORMAT_VERSION
    assert ModelConfig.from_dict(config.to_dict()) == config  # and round trips


# ------------------------------------------------------------------------- each field

# (dotted field, bad value, text the message must hold): each for the isolated-sign config
SIGN_CASES: list[tuple[str, Any, str]] = [
    ("format_version", "1", "format_version must be an integer >= 1"),
    ("format_version", 1.0, "format_version must be an integer >= 1"),
    ("format_version", True, "format_version must be an integer >= 1"),
    ("format_version", 0, "format_version must be an integer >= 1"),
    ("format_version", FORMAT_VERSION + 1, "newer than this aslsign understands"),
    ("task", "signs", "task must be one of"),
    ("task", ["isolated_sign"], "task must be one of"),
    ("architecture", "", "architecture must be a non-empty string"),
    ("architecture", 7, "architecture must be a non-empty string"),
    ("labels", "hello", "labels must be a list of label names; got 'hello' (a string)"),
    ("labels", [], "labels must be a non-empty list"),
    ("labels", ["hello", 3], "labels[1] must be a non-empty string"),
    ("labels", ["hello", ""], "labels[1] must be a non-empty string"),
    ("labels", ["hello", "hello"], "labels must not repeat an entry: 'hello'"),
    ("labels", {"hello": 0}, "labels must be a list"),
    ("input", "inputs", "input must be an object"),
    ("input.name", "", "input.name must be a non-empty string"),
    ("input.dtype", "float", "input.dtype must be one of"),
    ("input.shape", "708", "input.shape must be a list"),
    ("input.shape", [None, 0, 708], "input.shape[1] must be an integer >= 1"),
    ("input.shape", [None, None, 708.0], "input.shape[2] must be an integer >= 1"),
    ("input.shape", _DELETE, "lacks ['shape']"),
    ("output.name", None, "output.name must be a non-empty string"),
    ("output_kind", "softmax", "output_kind must be one of"),
    ("signature", "", "signature must be a non-empty string"),
    ("name", 5, "name must be a string"),
    ("license", ["MIT"], "license must be a string"),
    ("model_sha256", "abc", "model_sha256 must be a sha256"),
    ("model_sha256", "F" * 64, "model_sha256 must be a sha256"),
    ("decoding", [], "decoding must be an object"),
    ("architecture_args", "dim=96", "architecture_args must be an object"),
    ("metrics", [0.9], "metrics must be an object"),
    ("metrics.cv", 0.9, "metrics.cv must be an object"),
    ("metrics.cv.top1", "0.9", "metrics.cv.top1 must be a finite number"),
    ("metrics.cv.top1", float("nan"), "metrics.cv.top1 must be a finite number"),
    ("metrics.cv.count", -1, "metrics.cv.count must be an integer >= 0"),
    ("metrics.cv.folds", 4, "metrics.cv.folds must be a list"),
    ("training", "yes", "training must be an object"),
    ("training.recipe", 3, "training.recipe must be a string"),
    ("training.args", [], "training.args must be an object"),
    ("variants", ["fp16"], "variants must be an object"),
    ("variants.fp16.sha256", "0", "variants.fp16.sha256 must be a sha256"),
    ("variants.fp16.size_bytes", "1 MB", "variants.fp16.size_bytes must be an integer >= 0"),
    ("variants.fp16.size_ratio", -0.5, "variants.fp16.size_ratio must be a finite number >= 0"),
    ("variants.fp16.agreement", 1.0, "variants.fp16.agreement must be an object"),
    ("variants.fp16.agreement.value", "all", "agreement.value must be a finite number"),
    ("variants.fp16.file", "../model.tflite", "file must be 'model.fp16.tflite'"),
    ("preprocessing", "gislr_1st", "preprocessing must be an object"),
    ("preprocessing.name", ["gislr_1st"], "Unknown preprocessing"),
    ("preprocessing.name", "hoyso", "known pipelines"),
    ("preprocessing.colour", 1, "no parameter(s) ['colour']"),
    ("preprocessing.groups", "lips", "groups must be a list of landmark group names"),
    ("preprocessing.groups", [], "groups must be a non-empty list"),
    ("preprocessing.groups", ["lips", "tail"], "unknown landmark group(s) ['tail']"),
    ("preprocessing.center_landmark", 9999, "center_landmark must be an integer in 0..542"),
    ("preprocessing.center_landmark", -1, "center_landmark must be an integer in 0..542"),
    ("preprocessing.center_landmark", "17", "center_landmark must be an integer"),
    ("preprocessing.center_fallback", "0.5", "center_fallback must be a finite number"),
    ("preprocessing.center_fallback", float("inf"), "center_fallback must be a finite number"),
    ("preprocessing.lags", [-1], "lags[0] must be an integer in 1..384"),
    ("preprocessing.lags", [1, 0], "lags[1] must be an integer in 1..384"),
    ("preprocessing.lags", [1, 999], "lags[1] must be an integer in 1..384"),
    ("preprocessing.lags", 2, "lags must be a list"),
    ("preprocessing.lags", "12", "lags must be a list"),
    ("preprocessing.max_len", 0, "max_len must be an integer >= 1"),
    ("preprocessing.max_len", 384.0, "max_len must be an integer >= 1"),
    ("preprocessing.max_len", "384", "max_len must be an integer >= 1"),
    ("preprocessing.drop_empty_frames", "yes", "drop_empty_frames must be true or false"),
    ("preprocessing.drop_empty_frames", 1, "drop_empty_frames must be true or false"),
    ("preprocessing.empty_frames", "some", "empty_frames must be one of"),
    ("preprocessing.nan_fill", None, "nan_fill must be a finite number"),
    ("preprocessing.nan_fill", 1e30, "nan_fill must be a finite number in -1e+06..1e+06"),
    ("preprocessing.pad_value", float("-inf"), "pad_value must be a finite number"),
]


@pytest.mark.parametrize(("field", "value", "message"), SIGN_CASES)
def test_sign_config_field_is_checked(field: str, value: Any, message: str) -> None:
    bad = _set(_config(SIGN), field, value)
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict(bad, source="x/config.json")
    text = str(info.value)
    assert message in text
    assert text.startswith("x/config.json: ")  # says which file
    if "must be" in message:
        assert "; got " in text  # and what came


SPELL_CASES: list[tuple[str, Any, str]] = [
    ("decoding.type", "beam", "decoding.type must be one of"),
    ("decoding.type", _DELETE, "decoding.type must be one of"),
    ("decoding.blank_index", 60, "decoding.blank_index must be an integer in 0..59"),
    ("decoding.blank_index", "59", "decoding.blank_index must be an integer"),
    ("decoding.output_stride", 0, "decoding.output_stride must be an integer >= 1"),
    ("preprocessing.mirror_dominant", "true", "mirror_dominant must be true or false"),
    ("preprocessing.hand_shape", None, "hand_shape must be true or false"),
    ("preprocessing.normalize", "l2", "normalize must be one of"),
    ("preprocessing.frame_filter", True, "frame_filter must be one of"),
    ("preprocessing.overflow", "wrap", "overflow must be one of"),
    ("preprocessing.groups", "right_hand", "groups must be a list"),
    ("preprocessing.lags", [0], "lags[0] must be an integer in 1..512"),
    ("preprocessing.max_len", -5, "max_len must be an integer >= 1"),
    ("preprocessing.pad_value", "pad", "pad_value must be a finite number"),
    ("metrics.validation.normalized_levenshtein", "0.1", "normalized_levenshtein must be"),
    ("metrics.validation.beam_width", 0, "beam_width must be an integer >= 1"),
    ("labels", list("abcc"), "labels must not repeat an entry: 'c'"),
]


@pytest.mark.parametrize(("field", "value", "message"), SPELL_CASES)
def test_fingerspelling_config_field_is_checked(field: str, value: Any, message: str) -> None:
    bad = _set(_config(SPELL), field, value)
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict(bad)
    assert message in str(info.value)


def test_argmax_decoding_special_indices_are_checked() -> None:
    d = _config(SPELL)
    d["decoding"] = {"type": "argmax", "special_indices": "59"}
    with pytest.raises(ConfigError, match=r"special_indices must be a list"):
        ModelConfig.from_dict(d)
    d["decoding"]["special_indices"] = [59, 60]
    with pytest.raises(ConfigError, match=r"special_indices\[1\] must be an integer in 0..59"):
        ModelConfig.from_dict(d)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"name": "wijkhuizen", "frames": 64.0}, "frames must be an integer >= 1"),
        ({"name": "wijkhuizen", "mean": ["0"] * 132}, "mean must be a list of 132 numbers"),
        ({"name": "wijkhuizen", "std": [True] * 132}, "std must be a list of 132 numbers"),
        ({"name": "aslfr_columns", "columns": "x_face_0"}, "columns must be a list"),
        ({"name": "aslfr_columns", "columns": []}, "columns must be a non-empty list"),
        ({"name": "aslfr_columns", "columns": [3]}, "columns[0] must be a non-empty string"),
        ({"name": "aslfr_columns"}, "['columns'] must be given"),
        ({"name": "raw", "max_len": 3}, "no parameter(s) ['max_len']; it takes none"),
    ],
)
def test_other_pipelines_check_their_fields(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_config(params)
    assert message in str(info.value)


def test_a_bad_config_fails_at_load_not_at_predict(tmp_path: Path) -> None:
    """The recogniser is never built: the error comes from from_pretrained."""
    root = _artifact(tmp_path, SIGN, _set(_config(SIGN), "preprocessing.center_landmark", 9999))
    with pytest.raises(
        ConfigError, match=r"center_landmark must be an integer in 0\.\.542"
    ) as info:
        SignRecognizer.from_pretrained(root)
    assert str(root / "config.json") in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["", "{", "[1, 2]", '"config"', "null", '{"task": "isolated_sign"}', "\xff\xfe"],
)
def test_config_that_is_no_object_or_lacks_fields(tmp_path: Path, text: str) -> None:
    root = _artifact(tmp_path, SIGN, {})
    (root / "config.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(
        ConfigError, match=r"not valid JSON|expected a JSON object|missing required"
    ):
        SignRecognizer.from_pretrained(root)


# ------------------------------------------------------------------------- no path is followed


def _string_fields(d: Any, prefix: str = "") -> Iterator[str]:
    """Dotted names of every string value in a config (list items by index)."""
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else ()
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, str):
            yield name
        elif isinstance(value, (dict, list)):
            yield from _string_fields(value, name + ".")


def _set_path(d: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(d)
    *parents, last = dotted.split(".")
    node: Any = out
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


class _Opens:
    """Paths Python code opens (``sys.addaudithook``: open, os.listdir, os.scandir, ...)."""

    paths: ClassVar[list[str]] = []
    installed = False

    @classmethod
    def install(cls) -> None:
        if cls.installed:
            return

        def hook(event: str, args: tuple[Any, ...]) -> None:
            watched = ("open", "os.listdir", "os.scandir", "shutil.copyfile", "os.symlink")
            if event in watched and args and isinstance(args[0], (str, bytes, Path)):
                cls.paths.append(str(args[0]))

        sys.addaudithook(hook)  # cannot be removed: it only appends to a list
        cls.installed = True


@pytest.mark.parametrize(
    ("source", "recognizer"), [(SIGN, SignRecognizer), (SPELL, FingerspellingRecognizer)]
)
def test_no_config_value_reaches_files_outside_the_artifact(
    tmp_path: Path, source: Path, recognizer: type[SignRecognizer] | type[FingerspellingRecognizer]
) -> None:
    """Every string field of the config set to ``../`` paths, absolute paths and the name of a
    symlink (in the artifact) to a file outside: the load fails with a ConfigError-like
    aslsign error or succeeds on the artifact's own model.tflite, and the outside file is never
    opened."""
    _Opens.install()
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.tflite"
    shutil.copyfile(source / "model.tflite", secret)  # a loadable model: a followed path works
    (outside / "config.json").write_text(json.dumps(_config(source)))
    base = _config(source)
    fields = list(_string_fields(base))
    assert "preprocessing.name" in fields and "input.name" in fields and "labels.0" in fields
    assert "variants.fp16.file" in fields and "model_sha256" in fields
    payloads = [
        "../outside/secret.tflite",
        "../outside",
        str(secret),
        str(outside),
        "link.tflite",  # a symlink in the artifact directory to the outside file
        "file://" + str(secret),
    ]
    outcomes: dict[str, int] = {"loaded": 0, "refused": 0}
    for i, field in enumerate(fields):
        for j, payload in enumerate(payloads):
            root = tmp_path / f"a{i}_{j}"
            root.mkdir()
            shutil.copyfile(source / "model.tflite", root / "model.tflite")
            (root / "link.tflite").symlink_to(secret)
            config = _set_path(base, field, payload)
            (root / "config.json").write_text(json.dumps(config))
            _Opens.paths.clear()
            # the base model and every variant the config lists (their files are not there:
            # model.<name>.tflite is the only name a variant's file can have)
            for variant in [None, *config["variants"]]:
                try:
                    rec = recognizer.from_pretrained(root, variant=variant)
                except AslSignError:
                    outcomes["refused"] += 1
                else:
                    outcomes["loaded"] += 1
                    assert rec._model is not None
                    assert rec._model.path == root / "model.tflite", (field, payload, variant)
                    rec.close()
            opened = [p for p in _Opens.paths if "outside" in p or "link.tflite" in p]
            assert not opened, (field, payload, opened)
    # both happen: most text fields are free text (a name, a label), some are checked
    assert outcomes["loaded"] > 0 and outcomes["refused"] > 0, outcomes


@pytest.mark.parametrize(
    "variant", ["../model", "/etc/passwd", "fp16/../../x", "..", "", "FP16", "link", "fp32/"]
)
def test_variant_argument_cannot_name_other_files(tmp_path: Path, variant: str) -> None:
    root = _artifact(tmp_path, SIGN, _config(SIGN))
    with pytest.raises(ModelNotFoundError, match="has no variant"):
        SignRecognizer.from_pretrained(root, variant=variant)


@pytest.mark.parametrize(
    "name", ["../evil", "/abs", "a/b", "evil.tflite", ".hidden", "Evil", "fp32", "a\x00b"]
)
def test_variant_names_that_could_be_paths_are_refused(name: str) -> None:
    sha = sha256_file(SIGN / "model.tflite")
    bad = _set(_config(SIGN), "variants", {name: {"file": f"model.{name}.tflite", "sha256": sha}})
    with pytest.raises(ConfigError, match="not a variant name"):
        ModelConfig.from_dict(bad)


def test_a_variant_file_symlinked_outside_must_match_its_sha256(tmp_path: Path) -> None:
    """A symlink in the artifact directory is followed like any file (the hub cache itself links
    into its blob store), but the file must match the sha256 that config.json records."""
    outside = tmp_path / "outside.tflite"
    shutil.copyfile(SPELL / "model.tflite", outside)  # another (valid) model
    config = _config(SIGN)
    config["variants"] = {
        "evil": {"file": "model.evil.tflite", "sha256": sha256_file(SIGN / "model.tflite")}
    }
    root = _artifact(tmp_path, SIGN, config)
    (root / "model.evil.tflite").symlink_to(outside)
    with pytest.raises(ModelFileError, match="does not match the sha256"):
        SignRecognizer.from_pretrained(root, variant="evil")


# ------------------------------------------------------------------------- arguments

BAD_COUNTS = [0, -1, True, False, 2.0, "3", None]


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """A real sequence: the bundled model's first example."""
    return next(iter(read_examples(SIGN / "examples.json").values()))


@pytest.mark.parametrize("value", BAD_COUNTS)
def test_top_k_must_be_a_positive_integer(
    sign: SignRecognizer, frames: np.ndarray, value: Any
) -> None:
    calls = [lambda: SignRecognizer.from_pretrained(top_k=value)]
    if value is not None:  # None means "the recogniser's own" where a call takes it
        calls += [
            lambda: sign.predict(frames, top_k=value),
            lambda: sign.predict_batch([frames], top_k=value),
            lambda: sign.stream(top_k=value),
        ]
    for call in calls:
        with pytest.raises(ValueError, match="top_k must be an integer >= 1") as info:
            call()
        assert repr(value) in str(info.value)


def test_top_k_beyond_the_labels_lists_them_all(sign: SignRecognizer, frames: np.ndarray) -> None:
    result = sign.predict(frames, top_k=1000)
    assert len(result.top_k) == len(sign.vocabulary) == 2  # the background is no candidate
    vocabulary = result.probabilities[: len(sign.vocabulary)].tolist()
    assert [c.score for c in result.top_k] == sorted(vocabulary, reverse=True)
    assert len(sign.predict(frames, top_k=np.int64(1)).top_k) == 1  # numpy integers are fine


@pytest.mark.parametrize("value", BAD_COUNTS)
def test_beam_width_must_be_a_positive_integer(
    spell: FingerspellingRecognizer, frames: np.ndarray, value: Any
) -> None:
    calls = [lambda: FingerspellingRecognizer.from_pretrained(beam_width=value)]
    if value is not None:
        calls += [
            lambda: spell.predict(frames, beam_width=value),
            lambda: spell.predict_batch([frames], beam_width=value),
            lambda: spell.stream(beam_width=value),
        ]
    for call in calls:
        with pytest.raises(ValueError, match="beam_width must be an integer >= 1"):
            call()


@pytest.mark.parametrize("name", ["batch_size", "max_batch_frames"])
@pytest.mark.parametrize("value", [0, -3, True, 1.5, "8", None])
def test_batch_arguments(sign: SignRecognizer, frames: np.ndarray, name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"{name} must be an integer >= 1"):
        sign.predict_batch([frames], **{name: value})


@pytest.mark.parametrize("value", [0, -1, True, 2.0, "2"])
def test_num_threads(value: Any) -> None:
    for load in (SignRecognizer.from_pretrained, FingerspellingRecognizer.from_pretrained):
        with pytest.raises(ValueError, match="num_threads must be an integer >= 1 or None"):
            load(num_threads=value)


def test_stream_refuses_options_predict_does_not_take(sign: SignRecognizer) -> None:
    with pytest.raises(TypeError, match="unknown option 'beam_width'"):
        sign.stream(beam_width=2)
    with pytest.raises(TypeError, match="unknown option 'topk'"):
        sign.stream(topk=2)
    assert sign.stream(top_k=1).options == {"top_k": 1}
