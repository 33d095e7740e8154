"""The exported query encoder kept on disk (``load_onnx_encoder(cache_folder=...)``): written on a miss,
read back without torch on a hit, rebuilt when the entry is damaged, and the same vectors either way."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from relaydesk.ml import cache
from relaydesk.ml.embeddings import OnnxEncoder, load_onnx_encoder

QUERIES = [
    "reset password",
    "  Where is my PACKAGE?? it said delivered\n",
    "retrun my bots, ¿dónde está mi pedido? café 日本語 😀",
    "My Google Drive files are not syncing to my laptop after the last update " * 20,  # truncated
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[OnnxEncoder, Path]:
    """One export into a fresh cache folder (a miss), shared by the tests that copy or read it."""
    folder = tmp_path_factory.mktemp("encoder-cache")
    encoder = load_onnx_encoder(cache_folder=folder)
    assert encoder is not None
    return encoder, folder


def _entry(folder: Path) -> Path:
    (entry,) = (folder / "query-encoder").iterdir()
    return entry


def _copy(folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "cache"
    shutil.copytree(folder, copy)
    return copy


def test_a_miss_exports_and_writes_the_encoder_and_its_tokenizer(exported: tuple[OnnxEncoder, Path]) -> None:
    encoder, folder = exported
    assert encoder.source == "export"
    entry = _entry(folder)
    assert sorted(p.name for p in entry.iterdir()) == ["encoder.onnx", "manifest.json", "tokenizer.json"]
    manifest = json.loads((entry / "manifest.json").read_text())
    assert manifest["meta"]["pooling"] == "mean" and manifest["meta"]["max_length"] == 256
    assert manifest["meta"]["inputs"] == encoder.inputs
    assert not [p for p in (folder / "query-encoder").iterdir() if p.name.startswith(".")]  # no staging left


def test_a_hit_reads_the_same_encoder_back(exported: tuple[OnnxEncoder, Path]) -> None:
    encoder, folder = exported
    cached = load_onnx_encoder(cache_folder=folder)
    assert cached is not None and cached.source == "cache"
    for text in QUERIES:
        ours, theirs = cached(text), encoder(text)
        assert len(ours.hidden_states) == len(theirs.hidden_states) == 7
        # The same graph on the same tokens: the same numbers.
        assert np.array_equal(cached.tokens(text)["input_ids"], encoder.tokens(text)["input_ids"])
        assert np.allclose(ours.vector, theirs.vector, atol=1e-6)
        assert all(
            np.allclose(a, b, atol=1e-5)
            for a, b in zip(ours.hidden_states, theirs.hidden_states, strict=True)
        )
    assert cached(QUERIES[-1]).hidden_states[0].shape[0] == 256  # truncated as the model truncates


def test_a_hit_imports_neither_torch_nor_sentence_transformers(exported: tuple[OnnxEncoder, Path]) -> None:
    _, folder = exported
    script = textwrap.dedent(
        f"""
        import sys
        from relaydesk.ml.embeddings import load_onnx_encoder
        encoder = load_onnx_encoder(cache_folder={str(folder)!r})
        encoder("where is my package")
        heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
        print(encoder.source, heavy)
        """
    )
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "cache []"


@pytest.mark.parametrize(
    "damage",
    [
        "truncated graph",
        "graph replaced, checksum updated",
        "manifest not json",
        "tokenizer missing",
        "wrong vector",
    ],
)
def test_a_damaged_entry_reads_as_absent(
    exported: tuple[OnnxEncoder, Path], tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    from relaydesk.ml.embeddings import _cached_encoder

    folder = _copy(exported[1], tmp_path)
    entry = _entry(folder)
    manifest = json.loads((entry / "manifest.json").read_text())
    if damage == "truncated graph":
        graph = entry / "encoder.onnx"
        graph.write_bytes(graph.read_bytes()[: 1 << 20])
    elif damage == "graph replaced, checksum updated":
        (entry / "encoder.onnx").write_bytes(b"\x08\x07 not a graph")
        manifest["files"]["encoder.onnx"] = hashlib.sha256(b"\x08\x07 not a graph").hexdigest()
        (entry / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "manifest not json":
        (entry / "manifest.json").write_text('{"files": {"encoder.onnx": ')
    elif damage == "tokenizer missing":
        (entry / "tokenizer.json").unlink()
    else:
        manifest["meta"]["probe_vector"] = [-x for x in manifest["meta"]["probe_vector"]]
        (entry / "manifest.json").write_text(json.dumps(manifest))
    assert _cached_encoder(folder, entry.name, int8=False) is None
    assert "exporting again" in caplog.text or "will be rebuilt" in caplog.text


def test_a_damaged_entry_is_exported_again_and_rewritten(
    exported: tuple[OnnxEncoder, Path], tmp_path: Path
) -> None:
    encoder, original = exported
    folder = _copy(original, tmp_path)
    graph = _entry(folder) / "encoder.onnx"
    graph.write_bytes(graph.read_bytes()[:-100])  # a write cut short
    rebuilt = load_onnx_encoder(cache_folder=folder)
    assert rebuilt is not None and rebuilt.source == "export"
    assert np.allclose(rebuilt(QUERIES[0]).vector, encoder(QUERIES[0]).vector, atol=1e-6)
    again = load_onnx_encoder(cache_folder=folder)
    assert again is not None and again.source == "cache"


def test_another_model_or_library_version_is_another_key(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    before = cache.fingerprint(cache.folder_fingerprint(model), cache.library_versions("numpy"))
    assert before == cache.fingerprint(cache.folder_fingerprint(model), cache.library_versions("numpy"))
    (model / "config.json").write_text('{"hidden_size": 768}')
    assert cache.fingerprint(cache.folder_fingerprint(model), cache.library_versions("numpy")) != before
    assert cache.library_versions("no-such-distribution-here") == {"no-such-distribution-here": None}


def test_writing_an_entry_replaces_older_keys_and_leftovers(tmp_path: Path) -> None:
    assert cache.read(tmp_path, "thing", "k1") is None  # a miss
    assert cache.write(tmp_path, "thing", "k1", {"a.bin": b"one"}, {"n": 1})
    (tmp_path / "thing" / ".writing-killed").mkdir()  # a writer killed half way
    assert cache.write(tmp_path, "thing", "k2", {"a.bin": b"two"}, {"n": 2})
    assert [p.name for p in (tmp_path / "thing").iterdir()] == ["k2"]
    entry = cache.read(tmp_path, "thing", "k2")
    assert entry is not None and entry.files == {"a.bin": b"two"} and entry.meta == {"n": 2}
    assert cache.read(tmp_path, "thing", "k1") is None


def test_a_cache_folder_that_cannot_be_written_is_reported_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    assert not cache.write(blocked, "thing", "k1", {"a.bin": b"one"}, {})
    assert "could not write the cache entry" in caplog.text
