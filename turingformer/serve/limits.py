"""The limits of one ``turingformer serve`` request (docs/player.md), in a module of their own so
that the command line can show their defaults without importing the web framework."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one request may cost (docs/player.md): steps (loops), decoder positions, the lengths of a
    source and an input, seconds and memory per run, and runs at once."""

    max_steps: int = 2_000
    max_positions: int = 10_000
    max_source: int = 100_000
    max_input: int = 2_000
    time_limit: float = 20.0
    memory_mib: int = 2048
    processes: int = 2

    @property
    def max_body(self) -> int:
        """The largest request body accepted: a source and an input at their limits, UTF-8, in JSON."""
        return 8 * (self.max_source + self.max_input) + 4096
