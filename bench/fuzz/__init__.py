"""Decoder fuzzers for `make fuzz`: `python -m bench.fuzz` (see `__main__.py`)."""
