"""Windows and scattering features, on disk."""
