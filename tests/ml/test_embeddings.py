"""The single-text query encoder (``embed_one``) against the float32 batch path (``embed``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from relaydesk.knowledge.index import embed_query
from relaydesk.ml.embeddings import embed, embed_one, load_embedder, one_torch_thread, query_encoder_precision

TEXTS = [
    "reset password",
    "How do I stop Outlook from asking for my password every time I open it?",
    "My Google Drive files are not syncing to my laptop after the last update, what can I do about it? "
    "I already signed out and back in and restarted the computer twice.",
]


def _cosines(vectors: list[np.ndarray], reference: np.ndarray) -> np.ndarray:
    return np.sum(np.array(vectors) * reference, axis=1)


def test_bf16_query_vectors_agree_with_float32_batch_vectors() -> None:
    with one_torch_thread():
        vectors = [embed_one(text, precision="bf16") for text in TEXTS]
    assert all(v.dtype == np.float32 and v.shape == (384,) for v in vectors)
    assert np.allclose([np.linalg.norm(v) for v in vectors], 1.0, atol=1e-5)
    cosines = _cosines(vectors, embed(TEXTS))
    assert cosines.min() > 0.9995, cosines
    # bf16 is a different computation, not the float32 one under another name.
    assert cosines.min() < 1 - 1e-7


def test_fp32_query_vectors_are_the_batch_vectors() -> None:
    with one_torch_thread():
        vectors = [embed_one(text, precision="fp32") for text in TEXTS]
    assert np.allclose(np.array(vectors), embed(TEXTS), atol=1e-5)


def test_bf16_query_encoder_leaves_the_shared_model_in_float32() -> None:
    with one_torch_thread():
        embed_one(TEXTS[0], precision="bf16")
    assert {p.dtype for p in load_embedder().parameters()} == {torch.float32}
    # What classification embeds one text at a time with is unchanged.
    single = embed(TEXTS[:1], single_thread=True)[0]
    with one_torch_thread():
        reference = embed_one(TEXTS[0], precision="fp32")
    assert np.allclose(single, reference, atol=1e-5)


def test_setting_turns_the_bf16_query_encoder_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAYDESK_QUERY_ENCODER", "fp32")
    assert query_encoder_precision() == "fp32"
    with one_torch_thread():
        vector = embed_query(TEXTS[1])
    assert np.allclose(vector, embed(TEXTS[1:2])[0], atol=1e-5)
    monkeypatch.setenv("RELAYDESK_QUERY_ENCODER", "bf16")
    with one_torch_thread():
        assert np.array_equal(embed_query(TEXTS[1]), embed_one(TEXTS[1], precision="bf16"))


@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "expected"), [(True, False, "bf16"), (False, True, "bf16"), (False, False, "fp32")]
)
def test_auto_uses_bf16_only_where_the_cpu_computes_it_natively(
    monkeypatch: pytest.MonkeyPatch, avx512_bf16: bool, amx: bool, expected: str
) -> None:
    monkeypatch.delenv("RELAYDESK_QUERY_ENCODER", raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert query_encoder_precision() == expected
    assert query_encoder_precision("auto") == expected
    assert query_encoder_precision("fp32") == "fp32"


def test_unknown_query_encoder_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAYDESK_QUERY_ENCODER", "int8")
    with pytest.raises(ValueError, match="RELAYDESK_QUERY_ENCODER"):
        query_encoder_precision()
    with pytest.raises(ValueError, match="auto, bf16, fp32"):
        embed_one(TEXTS[0], precision="fp16")
