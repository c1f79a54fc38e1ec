"""The simulated coprocessor: the unmodified firmware under CPython on a pty."""

from sim.coproc.device import SimCoproc, SimError

__all__ = ["SimCoproc", "SimError"]
