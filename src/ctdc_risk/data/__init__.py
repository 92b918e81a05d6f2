"""Data layer: read any CTDC release, harmonise it to the canonical frame, validate, report."""
