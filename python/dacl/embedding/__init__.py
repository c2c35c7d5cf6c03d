"""Encoders and their losses, and the frozen embedders of trained runs."""
