"""Command-line edge: the only place that knows Hydra."""
