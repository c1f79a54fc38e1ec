"""The kiosk session: a sans-IO state machine (states, one transition table), its ports and
a thin asyncio runner. See README.md."""
