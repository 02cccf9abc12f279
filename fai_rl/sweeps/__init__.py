"""Hydra multirun sweeps: keep a failing job from stopping the others, and report a sweep's jobs (no torch here)."""
