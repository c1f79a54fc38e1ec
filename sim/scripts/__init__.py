"""Named scripted sessions on the whole simulation (`kofu sim --script NAME --out DIR`)."""

from __future__ import annotations

from .runner import SCRIPTS, ScriptFailed, run_script

__all__ = ["SCRIPTS", "ScriptFailed", "run_script"]
