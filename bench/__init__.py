"""The fetch-path benchmark: `python -m bench` (see bench/run.py)."""
