"""The sim control panel: what a person and a technician can do to the simulated kiosk."""
