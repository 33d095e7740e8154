"""The one-text encoder (``encode_one`` / ``embed_one``) against the float32 torch reference (``embed``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from relaydesk.knowledge.index import embed_query, search_query_encoder
from relaydesk.ml.embeddings import (
    _export,
    _fused,
    _ModelTokens,
    _onnx_encoder,
    default_model_path,
    embed,
    embed_one,
    encode_one,
    load_embedder,
    one_torch_thread,
    query_encoder,
)

TEXTS = [
    "reset password",
    "How do I stop Outlook from asking for my password every time I open it?",
    "My Google Drive files are not syncing to my laptop after the last update, what can I do about it? "
    "I already signed out and back in and restarted the computer twice.",
]


def test_onnx_query_vectors_agree_with_float32_batch_vectors() -> None:
    vectors = [embed_one(text) for text in TEXTS]
    assert all(v.dtype == np.float32 and v.shape == (384,) for v in vectors)
    assert np.allclose([np.linalg.norm(v) for v in vectors], 1.0, atol=1e-5)
    cosines = np.sum(np.array(vectors) * embed(TEXTS), axis=1)
    assert cosines.min() >= 0.9999, cosines


def test_hidden_states_are_every_layer_of_the_float32_transformer() -> None:
    model = load_embedder()
    bert: Any = model[0].auto_model
    for text in TEXTS:
        encoded = encode_one(text)
        tokens = model.preprocess([text])
        with torch.inference_mode():
            reference = bert(
                input_ids=tokens["input_ids"],
                attention_mask=tokens["attention_mask"],
                token_type_ids=tokens["token_type_ids"],
                output_hidden_states=True,
            ).hidden_states
        assert len(encoded.hidden_states) == bert.config.num_hidden_layers + 1
        for ours, theirs in zip(encoded.hidden_states, reference, strict=True):
            assert ours.dtype == np.float32 and ours.shape == (tokens["input_ids"].shape[1], 384)
            assert np.allclose(ours, theirs[0].numpy(), atol=1e-4)
        # The sentence vector is the model's mean pooling of the last layer, normalised.
        pooled = encoded.hidden_states[-1].mean(axis=0)
        assert np.allclose(encoded.vector, pooled / np.linalg.norm(pooled), atol=1e-6)


def test_one_text_is_tokenised_as_sentence_transformers_does() -> None:
    model = load_embedder()
    for text in [*TEXTS, "  Reset   PASSWORD\n", "word " * 400]:
        encoded = encode_one(text)
        ids = model.preprocess([text])["input_ids"]
        assert encoded.hidden_states[0].shape[0] == ids.shape[1] <= model.max_seq_length
        with one_torch_thread():
            reference = encode_one(text, encoder="fp32")
        assert np.allclose(encoded.hidden_states[-1], reference.hidden_states[-1], atol=1e-4)
    encoder = _onnx_encoder(str(default_model_path()))
    assert (
        encoder is not None and isinstance(encoder.tokens, _ModelTokens) and encoder.tokens.direct
    )  # the fast path is the one tested here


def test_fp32_query_vectors_are_the_batch_vectors() -> None:
    with one_torch_thread():
        vectors = [embed_one(text, encoder="fp32") for text in TEXTS]
    assert np.allclose(np.array(vectors), embed(TEXTS), atol=1e-5)
    with one_torch_thread():
        fp32 = encode_one(TEXTS[1], encoder="fp32")
    onnx = encode_one(TEXTS[1])
    assert all(
        np.allclose(a, b, atol=1e-4) for a, b in zip(fp32.hidden_states, onnx.hidden_states, strict=True)
    )


def test_onnx_export_leaves_the_shared_torch_model_alone() -> None:
    model = load_embedder()
    bert: Any = model[0].auto_model
    attention = bert.config._attn_implementation
    before = embed(TEXTS)
    graph = _export(model)  # traces a private copy in eager attention
    assert graph.startswith(b"\x08")  # an ONNX ModelProto (field 1, ir_version)
    assert bert.config._attn_implementation == attention
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert np.array_equal(embed(TEXTS), before)


def test_the_float32_graph_runs_with_transformer_fusions(caplog: pytest.LogCaptureFixture) -> None:
    import onnx

    model = load_embedder()
    fused = onnx.load_from_string(_fused(_export(model), model))
    assert {"Attention", "SkipLayerNormalization", "BiasGelu"} <= {n.op_type for n in fused.graph.node}
    # Every layer's hidden states stay outputs (the classifier's fine-tuned layers read them).
    assert [o.name for o in fused.graph.output] == [f"hidden_state_{i}" for i in range(7)]
    # A graph the optimiser cannot take is used as it is, with a warning.
    assert _fused(b"not an onnx graph", model) == b"not an onnx graph"
    assert "transformer fusions failed" in caplog.text


def test_setting_picks_the_torch_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAYDESK_QUERY_ENCODER", "fp32")
    assert query_encoder() == "fp32"
    with one_torch_thread():
        vector = embed_query(TEXTS[1])
    assert np.allclose(vector, embed(TEXTS[1:2])[0], atol=1e-5)
    monkeypatch.setenv("RELAYDESK_QUERY_ENCODER", "auto")
    assert query_encoder() == "onnx"
    assert np.array_equal(embed_query(TEXTS[1]), embed_one(TEXTS[1], encoder="auto"))
    monkeypatch.delenv("RELAYDESK_QUERY_ENCODER")
    assert query_encoder() == "onnx"


@pytest.mark.parametrize("setting", ["bf16", "fp16"])
def test_unknown_query_encoder_setting_is_refused(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    monkeypatch.setenv("RELAYDESK_QUERY_ENCODER", setting)
    with pytest.raises(ValueError, match="RELAYDESK_QUERY_ENCODER"):
        query_encoder()
    with pytest.raises(ValueError, match="auto, fp32, int8"):
        embed_one(TEXTS[0], encoder="float8")


def test_int8_query_vectors_are_quantised_and_close_to_float32() -> None:
    reference = embed(TEXTS)
    vectors = np.array([embed_one(text, encoder="int8") for text in TEXTS])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * reference, axis=1)
    # Close to the float32 vectors (>= 0.985 on every StackFAQ dev query), yet not them: the matrix
    # products really ran in int8 (float32 ONNX agrees to 0.9999999).
    assert cosines.min() >= 0.97, cosines
    assert cosines.max() < 0.9999, cosines
    # The classifier's layers keep reading float32 hidden states: int8 is a separate session.
    assert np.sum(embed_one(TEXTS[1]) * reference[1]) >= 0.9999


def test_search_queries_can_have_their_own_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAYDESK_KB_QUERY_ENCODER", "int8")
    assert search_query_encoder() == "int8"
    assert query_encoder() == "onnx"  # ticket classification keeps the float32 encoder
    assert np.array_equal(embed_query(TEXTS[1]), embed_one(TEXTS[1], encoder="int8"))
    monkeypatch.setenv("RELAYDESK_KB_QUERY_ENCODER", "int4")
    with pytest.raises(ValueError, match="RELAYDESK_KB_QUERY_ENCODER must be one of auto, fp32, int8"):
        search_query_encoder()
    monkeypatch.delenv("RELAYDESK_KB_QUERY_ENCODER")
    monkeypatch.setenv("RELAYDESK_QUERY_ENCODER", "fp32")
    assert search_query_encoder() == "fp32"  # unset: the process's setting
