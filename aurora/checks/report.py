"""One report for every check command: `aurora verify` (an image), `aurora smoke` (the image
running) and `aurora doctor` (this host). A report is a list of checks, each a name, a status and
one line of detail; its ``--json`` is the one shape docs/checks.md describes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "skip")


@dataclass(frozen=True)
class Check:
    """One rule's outcome. ``fix`` is what to do when it did not pass (doctor's one-line fixes);
    ``seconds`` how long a timed check took (smoke's), else None."""

    name: str
    status: Status
    detail: str
    fix: str = ""
    seconds: float | None = None

    @classmethod
    def of(cls, name: str, ok: bool | None, detail: str, fix: str = "", seconds: float | None = None) -> Check:
        """pass when ``ok``, fail when not, skip when None (nothing to check)."""
        status: Status = "skip" if ok is None else ("pass" if ok else "fail")
        return cls(name, status, detail, fix if status != "pass" else "", seconds)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix,
                "seconds": self.seconds}


@dataclass
class Report:
    """What a check command found. ``subject`` is what it checked (an image reference, or
    "this host"); ``facts`` what the command knows beside the checks (a digest, a run's mode and
    log, the host's state), always a JSON object."""

    command: str
    subject: str
    checks: list[Check] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """At least one check ran and none failed (warn and skip do not fail a report)."""
        return bool(self.checks) and all(c.status != "fail" for c in self.checks)

    def add(self, *checks: Check | None) -> Report:
        self.checks += [c for c in checks if c is not None]
        return self

    def extend(self, checks: Iterable[Check]) -> Report:
        self.checks += list(checks)
        return self

    def status_of(self, name: str) -> Status | None:
        return next((c.status for c in self.checks if c.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {"command": self.command, "subject": self.subject, "ok": self.ok,
                "checks": [c.as_dict() for c in self.checks], "facts": self.facts}

    def lines(self, width: int) -> list[str]:
        """The text output: one line a check, and its fix under it when it did not pass."""
        out = []
        for c in self.checks:
            out.append(f"{c.status.upper():4}  {c.name:{width}} {c.detail}")
            if c.fix and c.status != "pass":
                out.append(f"      {'':{width}} fix: {c.fix}")
        return out


SHAPE: dict[str, type] = {"command": str, "subject": str, "ok": bool, "checks": list, "facts": dict}
CHECK_SHAPE: dict[str, type | tuple[type, ...]] = {"name": str, "status": str, "detail": str, "fix": str, "seconds": (float, int, type(None))}


def shape_errors(doc: Any) -> list[str]:
    """Where a parsed ``--json`` report departs from the documented shape (empty when it does not)."""
    if not isinstance(doc, dict):
        return ["not a JSON object"]
    errors = [f"{key}: missing or not {kind.__name__}" for key, kind in SHAPE.items() if not isinstance(doc.get(key), kind)]
    if set(doc) != set(SHAPE):
        errors.append(f"keys {sorted(doc)}, expected {sorted(SHAPE)}")
    for i, check in enumerate(doc.get("checks") or []):
        if not isinstance(check, dict) or set(check) != set(CHECK_SHAPE):
            errors.append(f"checks[{i}]: keys {sorted(check) if isinstance(check, dict) else check!r}")
            continue
        errors += [f"checks[{i}].{key}: not {kind}" for key, kind in CHECK_SHAPE.items() if not isinstance(check[key], kind)]
        if check["status"] not in STATUSES:
            errors.append(f"checks[{i}].status: {check['status']!r} is not one of {', '.join(STATUSES)}")
    return errors
