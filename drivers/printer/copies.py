"""Which copies of one print run came out, from each copy's own IPP job (pure logic).

The kiosk prints one job per certificate copy and follows each to its end
(:class:`drivers.printer.a4.JobTracker`); a fault part-way (paper out after copy 2 of 3) ends
the run. The tally turns the jobs' outcomes into the two lists the center needs: the copies
the citizen holds (printed: final, content purged) and the rest (failed: the clerk reprints
those, same numbers, no fee). A copy whose job never started counts as not printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.printer.a4 import PrintOutcome


class UnknownCopy(ValueError):
    """An outcome for a certificate number that is not part of this run."""


@dataclass
class CopyTally:
    """``numbers``: every copy of the run, in print order."""

    numbers: tuple[str, ...]
    outcomes: dict[str, PrintOutcome] = field(default_factory=dict)

    def record(self, outcome: PrintOutcome) -> None:
        if outcome.certificate_number not in self.numbers:
            raise UnknownCopy(outcome.certificate_number)
        self.outcomes[outcome.certificate_number] = outcome

    @property
    def printed(self) -> tuple[str, ...]:
        return tuple(n for n in self.numbers if self._came_out(n))

    @property
    def not_printed(self) -> tuple[str, ...]:
        return tuple(n for n in self.numbers if not self._came_out(n))

    @property
    def complete(self) -> bool:
        return not self.not_printed

    @property
    def sheets_done(self) -> int:
        """Whole sheets in the tray, copies cut short included (the clerk takes those)."""
        return sum(o.sheets_done for o in self.outcomes.values())

    def _came_out(self, number: str) -> bool:
        outcome = self.outcomes.get(number)
        return outcome is not None and outcome.came_out
