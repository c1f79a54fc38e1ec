"""The screen simulator (see ../README.md)."""
