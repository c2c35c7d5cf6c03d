"""Parameter-free contextualisation and the train-split standardiser."""

from __future__ import annotations

import numpy as np
import pytest

from dacl.features.context import ContextConfig, attention_pass, contextualise, sinusoidal_positional_encoding


def test_positional_encoding_formula() -> None:
    pe = sinusoidal_positional_encoding(5, 6)
    assert pe.shape == (5, 6)
    pos, i = 3, 1
    assert pe[pos, 2 * i] == pytest.approx(np.sin(pos / 10000 ** (2 * i / 6)))
    assert pe[pos, 2 * i + 1] == pytest.approx(np.cos(pos / 10000 ** (2 * i / 6)))
    assert sinusoidal_positional_encoding(4, 5).shape == (4, 5)  # odd width


def test_attention_pass_matches_definition() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 3))
    out = attention_pass(x, layer_norm=False)
    for w in range(2):
        s = x[w] @ x[w].T / np.sqrt(3)
        a = np.exp(s - s.max(axis=1, keepdims=True))
        a /= a.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(out[w], x[w] + a @ x[w], rtol=1e-12)


def test_shapes_pooling_and_off_switch() -> None:
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(7, 5, 9)).astype(np.float32)
    assert contextualise(feats, ContextConfig(pooling="mean")).shape == (7, 5)
    out = contextualise(feats, ContextConfig(pooling="mean_std", chunk=3))
    assert out.shape == (7, 10) and out.dtype == np.float32
    np.testing.assert_array_equal(out, contextualise(feats, ContextConfig(pooling="mean_std")))  # chunking
    off = contextualise(feats, ContextConfig(enabled=False))
    np.testing.assert_allclose(off, feats.mean(axis=2), rtol=1e-6)


def test_context_mixes_frames() -> None:
    """With attention on, a window's vector depends on frame order (via PE), unlike plain pooling."""
    rng = np.random.default_rng(2)
    feats = rng.normal(size=(1, 4, 6)).astype(np.float32)
    reversed_ = feats[:, :, ::-1].copy()
    on = ContextConfig(passes=2)
    assert not np.allclose(contextualise(feats, on), contextualise(reversed_, on))
    off = ContextConfig(enabled=False)
    np.testing.assert_allclose(contextualise(feats, off), contextualise(reversed_, off), rtol=1e-6)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="NaN or inf"):
        contextualise(np.full((1, 2, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="windows, paths, frames"):
        contextualise(np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="float"):
        contextualise(np.zeros((1, 2, 3), np.int64))
    with pytest.raises(ValueError, match="pooling"):
        ContextConfig(pooling="max")  # type: ignore[arg-type]
