"""The kiosk screen (see README.md)."""
