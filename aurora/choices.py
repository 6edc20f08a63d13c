"""Closed sets of choices (an engine, a target, a layout, a base set) as enums, with the one
usage error a wrong value gets. Each room defines its own; this is the shared base."""

from __future__ import annotations

from enum import StrEnum

from aurora.errors import UsageError


class Choice(StrEnum):
    """A StrEnum whose members are their own command-line spelling."""

    @classmethod
    def parse(cls, value: str, flag: str):
        """``value`` as a member, or ``UsageError("FLAG 'x': use a, b or c")``."""
        try:
            return cls(value)
        except ValueError:
            names = [m.value for m in cls]
            raise UsageError(f"{flag} {value!r}: use {', '.join(names[:-1])} or {names[-1]}") from None
