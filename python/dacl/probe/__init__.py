"""Probing frozen embeddings: linear probes on record-level scores, robustness to noise, metrics.json."""
