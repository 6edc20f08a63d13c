"""``aurora verify REF --rebuild -C DIR``: prove a pushed digest by building it again.

The provenance attached to REF records the build's inputs. The checkout's inputs (staged with
the recorded SOURCE_DATE_EPOCH) must be the same — any that differ are named and nothing is
built — and the rebuilt image's ID must equal the config digest of REF's manifest (the image ID
commits to every layer's uncompressed content and the config; the manifest digest also depends
on how the layers were compressed for the push).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from aurora.checks.report import Check
from aurora.config.secrets import secrets_in_text
from aurora.engines import named, opened
from aurora.errors import AuroraError
from aurora.host import runner
from aurora.host.registry import RegistryOptions
from aurora.engines.protocol import BuiltImage
from aurora.pipeline.assemble.run import assemble
from aurora.pipeline.bases import BaseSetName
from aurora.pipeline.build import build, check_bases
from aurora.pipeline.options import Options
from aurora.pipeline.project import Project
from aurora.report import Reporter
from aurora.supply import attach, keys, provenance


@contextlib.contextmanager
def _epoch(value: int) -> Iterator[None]:
    # The build reads SOURCE_DATE_EPOCH from the environment; the recorded one wins for this rebuild only.
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(value)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


def provenance_of(ref: str, digest: str, key: Path | None, opts: RegistryOptions) -> tuple[Check, dict | None]:
    try:
        found = attach.fetch(ref, digest, provenance.ENVELOPE_MEDIA_TYPE, opts)
    except AuroraError as exc:
        return Check("provenance", "fail", f"cannot read the referrers: {exc.message}"), None
    if not found:
        return Check("provenance", "fail", f"no provenance refers to {digest[:19]}…"), None
    try:
        opened = provenance.open_envelope(found[0][1], keys.load_public(key) if key else None)
    except AuroraError as exc:
        return Check("provenance", "fail", exc.message), None
    subject = (opened.statement.get("subject") or [{}])[0].get("digest", {}).get("sha256")
    if "sha256:" + str(subject) != digest:
        return Check("provenance", "fail", f"it describes sha256:{subject}, not {digest}"), None
    leaks = secrets_in_text(json.dumps(opened.statement))
    if leaks:
        return Check("provenance", "fail", f"the provenance holds {', '.join(leaks)}"), None
    if opened.signed_by_key is False:
        return Check("provenance", "fail", f"not signed by {key.name if key else '?'}"), None
    how = f"signed by {key.name}" if opened.signed_by_key and key else "unsigned (pass --key to check a signature)"
    n = len(provenance.recorded_inputs(opened.statement))
    return Check("provenance", "pass", f"SLSA v1, {n} inputs recorded, {how}"), opened.statement


def _build_again(opts: Options, plan, engines, assembled: bool, report: Reporter) -> BuiltImage:
    """The image again, every layer made anew (a proof uses no cache), by the path the provenance
    names: the assembler for an image it made, else the engine."""
    if assembled:
        done = assemble(opts, engines, report, load=True, plan=plan)
        if done is None:
            raise AuroraError("the provenance says the assembler made this image, but it cannot make this"
                              " checkout's (the line above says why)")
        return done.built
    return build(opts, engines, report, plan=plan)[1]


def rebuild(statement: dict, config_digest: str, app_dir: Path, engine_name: str,
            report: Reporter) -> list[Check]:
    epoch = provenance.recorded_epoch(statement)
    want = provenance.recorded_image_id(statement)
    if epoch is None or want is None:
        return [Check("rebuild", "fail", "the provenance records no SOURCE_DATE_EPOCH or image ID")]
    params = statement["predicate"]["buildDefinition"].get("externalParameters") or {}
    bases = BaseSetName.parse(params["bases"], "the provenance's bases") if params.get("bases") else None
    tag = f"localhost/aurora-rebuild/{uuid.uuid4().hex[:12]}:check"
    with opened() as engines:
        with _epoch(epoch):
            plan = Project.load(app_dir, tags=[tag], bases=bases).plan
            now = provenance.inputs(plan, check_bases(plan, engines(engine_name)))
        differ = provenance.differences(provenance.recorded_inputs(statement), now)
        if differ:
            return [Check("rebuild inputs", "fail", "; ".join(differ))]
        checks = [Check("rebuild inputs", "pass", f"{len(now)} inputs as recorded (SOURCE_DATE_EPOCH={epoch})")]
        assembled = params.get("builder") == "assembler"
        report.note(f"rebuilding with SOURCE_DATE_EPOCH={epoch} as {tag}" + (" (assembled, as recorded)" if assembled else ""))
        with _epoch(epoch):
            # A proof rebuilds every layer: no cache.
            built = _build_again(Options(app_dir=app_dir, tags=(tag,), bases=bases, engine=named(engine_name),
                                         no_cache=True), plan, engines, assembled, report)
    try:
        same = built.id == want.removeprefix("sha256:") or f"sha256:{built.id}" == want
        served = config_digest.removeprefix("sha256:") == built.id
        checks.append(Check("rebuild", "pass" if same and served else "fail",
                            f"rebuilt image ID sha256:{built.id[:12]}…; recorded {want[7:19]}…,"
                            f" the pushed manifest's config {config_digest[7:19]}…"))
    finally:
        # Only the temporary tag goes: the image stays when other tags (the pushed build's) hold it.
        runner.run([engine_name, "rmi", tag], check=False)
    return checks
