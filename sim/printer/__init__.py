"""Simulated printers: ippeveprinter as the A4 IPP printer, and an ESC/POS receipt sink."""
