"""The registry publisher: what a builder made, pushed to every tag and read back. The
supply-chain publisher (``supply/publish.py``) wraps it, so every builder's image gets the same
attachments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from aurora.engines import Opened
from aurora.host.registry import RegistryOptions
from aurora.pipeline.assemble.publish import push_assembled
from aurora.pipeline.builders import BuildResult
from aurora.pipeline.publish import Pushed, PushedIndex, push, push_index
from aurora.report import SILENT, Reporter


@dataclass(frozen=True)
class Published:
    """A build and where it went: one ``Pushed`` per tag (an image), or one ``PushedIndex`` per
    tag (an index); ``supply``: the attachments, as ``--json`` shows them."""

    build: BuildResult
    pushed: tuple[Pushed, ...] = ()
    indexes: tuple[PushedIndex, ...] = ()
    supply: dict = field(default_factory=dict)

    @property
    def digest(self) -> str | None:
        first = (self.indexes or self.pushed or (None,))[0]
        return first.digest if first is not None else None

    def as_dict(self) -> dict:
        out = self.build.as_dict()
        out["digest"] = self.digest
        out["pushed"] = [p.destination for p in (self.indexes or self.pushed)]
        out["pushed_indexes"] = [p.as_dict() for p in self.indexes]
        out.update(self.supply)
        return out


class Publisher(Protocol):
    def publish(self, result: BuildResult) -> Published: ...


class RegistryPublisher:
    """Pushes each tag with the engine that built it (an index with its images), or takes what
    the builder pushed itself (the executor's digest file)."""

    def __init__(self, engines: Opened, opts: RegistryOptions, report: Reporter = SILENT) -> None:
        self.engines, self.opts, self.report = engines, opts, report

    def publish(self, result: BuildResult) -> Published:
        if result.pushed:
            for p in result.pushed:
                self.report.note(f"pushed {p.destination} {p.digest} (the executor's digest file)")
            return Published(result, result.pushed)
        with self.report.stage("push"):
            return self._push(result)

    def _push(self, result: BuildResult) -> Published:
        report = self.report
        if result.assembled is not None:
            return Published(result, push_assembled(result.assembled, self.opts, report))
        engine = self.engines(result.engine)
        if result.index:
            indexes = tuple(push_index(engine, tag, tag, self.opts, report) for tag in result.plan.tags)
            for i in indexes:
                report.note(f"pushed {i.destination} {i.digest} (an index, read back from the registry): "
                          + ", ".join(f"{platform} {digest}" for platform, digest in i.manifests))
            return Published(result, indexes=indexes)
        built = result.images[0].built
        pushed = tuple(push(engine, t, t, self.opts, report) for t in built.tags)
        for p in pushed:
            report.note(f"pushed {p.destination} {p.digest} (read back from the registry)")
        return Published(result, pushed)
