"""The engine's typed build events as the Reporter's stages: the Containerfile's stages
(templates/Containerfile*.j2) grouped into the parts a user recognises."""

from __future__ import annotations

from aurora.engines.events import BuildEvent, StageStarted
from aurora.report import Reporter

# Containerfile stage -> Reporter stage, in the file's order. "runtime" is the Java runtime (jlink),
# app.jar's check against it ("app"), and the OS runtime base below the image; "image" the image's
# own stages and the labels (an unnamed stage).
STAGE_OF = {
    "frontend": "front end", "web": "web layer", "backend": "back end", "modules": "modules",
    "jmods": "runtime", "target-runtime": "runtime", "java": "runtime", "trust": "runtime", "app": "runtime",
    "runtime": "runtime", "packages": "runtime", "files": "runtime", "image-base": "runtime",
    "cds": "image", "image": "image",
}


class BuildStages:
    """Follows one engine build: a stage runs from its first ``StageStarted`` until one of another
    part starts (buildah builds them in order; with ``--jobs`` the times are the order they were
    said in) or the build ends. ``suffix`` tells platforms apart ("runtime linux/arm64")."""

    def __init__(self, report: Reporter, suffix: str = "") -> None:
        self.report, self.suffix = report, suffix
        self.current: str | None = None

    def name(self, stage: str) -> str:
        return f"{stage} {self.suffix}" if self.suffix else stage

    def hear(self, event: BuildEvent) -> None:
        if not isinstance(event, StageStarted):
            return
        part = self.name(STAGE_OF.get(event.name, "image"))
        if part != self.current:
            self.enter(part)

    def enter(self, part: str) -> None:
        """``part`` runs now; the one before it is done."""
        if self.current is not None and self.current != part:
            self.report.finish(self.current)
        self.current = part
        self.report.start(part)

    def end(self, ok: bool = True) -> None:
        if self.current is not None:
            self.report.finish(self.current, ok)
            self.current = None
