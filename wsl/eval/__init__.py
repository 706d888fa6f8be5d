"""Metrics, one module per task. No training code, no torch."""
