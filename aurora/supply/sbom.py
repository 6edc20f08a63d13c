"""``aurora sbom``: the image's bill of materials, as CycloneDX 1.6 (or SPDX 2.3) JSON.

aurora describes what it put in the image instead of guessing from file names: the Debian
packages of the runtime base (its dpkg database), every jar (Maven coordinates from its
pom.properties, else its manifest), app.jar, the Java runtime and its modules, nginx and tini,
and the npm packages of the front-end build (from the lockfile; dev ones marked excluded).
The document is made with cyclonedx-python-lib / spdx-tools, validated against the format's
schema, and is byte-identical for the same image and lockfile (no wall clock, no random ids).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import uuid
from dataclasses import replace
from pathlib import Path

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentScope, ComponentType
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL
from spdx_tools.spdx.model import (Actor, ActorType, Checksum, ChecksumAlgorithm, CreationInfo, Document,
                                   ExternalPackageRef, ExternalPackageRefCategory, Package, Relationship,
                                   RelationshipType, SpdxNoAssertion)
from spdx_tools.spdx.model.package import PackagePurpose
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

from aurora import __version__
from aurora.errors import AuroraError, UsageError
from aurora.host.registry import RegistryOptions
from aurora.pipeline.plan import Plan
from aurora.pipeline.project import Project
from aurora.refs import TransportRef, in_registry, with_transport
from aurora.supply import attach, imagefs
from aurora.supply import inventory as inv
from aurora.supply.imagefs import ImageFiles
from aurora.report import SILENT, Reporter

CYCLONEDX_MEDIA_TYPE = "application/vnd.cyclonedx+json"
SPDX_MEDIA_TYPE = "application/spdx+json"
FORMATS = {"cyclonedx": CYCLONEDX_MEDIA_TYPE, "spdx": SPDX_MEDIA_TYPE}
RUNTIME_BINARIES = {"usr/sbin/nginx": "nginx", "usr/bin/tini": "tini"}


def inventory(files: ImageFiles, image: str, lockfile: Path | None = None,
              report: Reporter = SILENT) -> inv.Inventory:
    """Everything the SBOM lists, from the image's files (and the front end's lockfile)."""
    notes: list[str] = []
    release = files.files.get("etc/os-release") or files.files.get("usr/lib/os-release")
    distro = None
    if release:
        osr = inv.os_release(release.decode("utf-8", "replace"))
        if osr.get("ID") and osr.get("VERSION_ID"):
            distro = f"{osr['ID']}-{osr['VERSION_ID']}"
    status = {p: d for p, d in files.files.items()
              if p == "var/lib/dpkg/status" or p.startswith("var/lib/dpkg/status.d/")}
    debs = inv.debian_packages(status, distro)
    if not debs:
        notes.append("no Debian package database in the image (/var/lib/dpkg/status is missing or empty):"
                     " an offline runtime base made before aurora recorded its packages; rebuild it with"
                     " `aurora base build --only runtime`")
    comps: list[inv.Component] = list(debs)
    for path, name in RUNTIME_BINARIES.items():
        if path in files.files:
            comps.append(inv.binary(path, files.files[path], name, debs))
    if "opt/java/release" in files.files:
        comps.append(inv.java_runtime(files.files["opt/java/release"]))
    labels = (files.config.get("config") or {}).get("Labels") or {}
    for path in files.glob("*.jar") + files.glob("*.war"):
        found = inv.jar_components(path, files.files[path])
        if path == "app/app.jar":
            found[0] = _application(found[0], labels)
        comps += found
    if lockfile is not None:
        try:
            lock = json.loads(lockfile.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{lockfile}: cannot read the lockfile: {exc}") from None
        comps += inv.npm_packages(lock, lockfile.name)
    else:
        notes.append("no front-end lockfile given (-C DIR): the npm packages bundled into /app/web are not listed")
    for n in notes:
        report.note(f"note: {n}")
    return inv.Inventory(image, files.manifest_digest, files.config.get("created"), tuple(comps), tuple(notes))


def _application(c: inv.Component, labels: dict[str, str]) -> inv.Component:

    title = labels.get("org.opencontainers.image.title")
    version = labels.get("org.opencontainers.image.version")
    props = c.properties + tuple((f"aurora:label:{k.rsplit('.', 1)[-1]}", v) for k, v in sorted(labels.items())
                                 if k in ("org.opencontainers.image.revision", "org.opencontainers.image.source"))
    return replace(c, kind="application", name=c.name if c.kind == "maven" else (title or c.name),
                   version=c.version if c.kind == "maven" and c.version else (version or c.version),
                   properties=props)


def lockfile_for(app_dir: Path) -> Path | None:
    """The front end's npm lockfile, when the app builds its front end from sources with npm."""
    return lockfile_of(Project.load(app_dir).plan)


def lockfile_of(plan: Plan) -> Path | None:
    """``lockfile_for`` of a plan already made."""
    fe = plan.frontend
    if fe.mode != "source" or not fe.lockfile:
        return None
    if fe.lockfile != "package-lock.json":
        raise UsageError(f"{fe.path / fe.lockfile}: only npm's package-lock.json is read for the SBOM so far",
                         hint="yarn and pnpm lockfiles are not listed yet; the rest of the SBOM is")
    return fe.path / fe.lockfile


# -- CycloneDX ------------------------------------------------------------------------------

def _created(value: str | None) -> dt.datetime:
    if value:
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(microsecond=0)
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(0, dt.timezone.utc)


def _serial(inventory: inv.Inventory, fmt: str) -> uuid.UUID:
    # The same image and lockfile give the same document, so attaching twice is a no-op.
    seed = inventory.digest + "|" + "|".join(sorted(c.ref for c in inventory.components)) + "|" + fmt
    return uuid.uuid5(uuid.NAMESPACE_URL, "aurora-sbom:" + seed)


def cyclonedx(inventory: inv.Inventory) -> str:

    types = {"deb": ComponentType.LIBRARY, "maven": ComponentType.LIBRARY, "jar": ComponentType.LIBRARY,
             "npm": ComponentType.LIBRARY, "application": ComponentType.APPLICATION,
             "runtime": ComponentType.PLATFORM, "binary": ComponentType.APPLICATION}
    scopes = {"required": ComponentScope.REQUIRED, "excluded": ComponentScope.EXCLUDED,
              "optional": ComponentScope.OPTIONAL}

    def make(c: inv.Component) -> Component:
        hashes = []
        if c.sha256:
            hashes.append(HashType(alg=HashAlgorithm.SHA_256, content=c.sha256))
        if c.sha512:
            hashes.append(HashType(alg=HashAlgorithm.SHA_512, content=c.sha512))
        props = [Property(name="aurora:kind", value=c.kind), *(Property(name=k, value=v) for k, v in c.properties)]
        return Component(name=c.name, version=c.version, group=c.group, type=types[c.kind], bom_ref=c.ref,
                         purl=PackageURL.from_string(c.purl) if c.purl else None, hashes=hashes,
                         description=c.description, scope=scopes[c.scope], properties=props)

    made = {c.ref: make(c) for c in inventory.components}
    top = []
    for c in inventory.components:
        if c.parent and c.parent in made:
            made[c.parent].components.add(made[c.ref])
        else:
            top.append(made[c.ref])
    name, _, _ = inventory.image.rpartition(":") if "@" not in inventory.image and ":" in inventory.image.rsplit("/", 1)[-1] \
        else (inventory.image.split("@")[0], "", "")
    name = name or inventory.image
    image_purl = None
    if inventory.digest:
        repo = name.rsplit("/", 1)
        image_purl = PackageURL("oci", None, repo[-1], inventory.digest,
                                qualifiers={"repository_url": name} if len(repo) > 1 else None)
    subject = Component(name=name, version=inventory.digest or None, type=ComponentType.CONTAINER,
                        bom_ref=f"image:{inventory.digest or name}", purl=image_purl)
    tools = ToolRepository(components=[Component(name="aurora", version=__version__, type=ComponentType.APPLICATION,
                                                 group="aurora-zero")])
    meta = BomMetaData(component=subject, tools=tools, timestamp=_created(inventory.created),
                       properties=[Property(name="aurora:note", value=n) for n in inventory.notes])
    bom = Bom(components=top, metadata=meta, serial_number=_serial(inventory, "cyclonedx"))
    bom.register_dependency(subject, top)
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if errors is not None:
        raise AuroraError(f"the CycloneDX document aurora made does not validate: {errors}",
                          hint="please report this with `aurora --debug sbom ...`")
    # Sorted keys: the library's member order is not part of the format, ours stays stable.
    return json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


# -- SPDX -----------------------------------------------------------------------------------

def spdx(inventory: inv.Inventory) -> str:


    def spdx_id(text: str, used: set[str]) -> str:
        base = "SPDXRef-" + re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")[:100]
        out, n = base, 1
        while out in used:
            n += 1
            out = f"{base}-{n}"
        used.add(out)
        return out

    used: set[str] = set()
    image_id = spdx_id("image", used)
    info = CreationInfo(
        spdx_version="SPDX-2.3", spdx_id="SPDXRef-DOCUMENT", name=f"aurora SBOM of {inventory.image}",
        document_namespace=f"https://aurora-zero.invalid/spdx/{_serial(inventory, 'spdx')}",
        creators=[Actor(ActorType.TOOL, f"aurora-{__version__}")], created=_created(inventory.created).replace(tzinfo=None),
    )
    packages = [Package(spdx_id=image_id, name=inventory.image, download_location=SpdxNoAssertion(),
                        version=inventory.digest or None, files_analyzed=False,
                        primary_package_purpose=_purpose("CONTAINER"))]
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, image_id)]
    ids: dict[str, str] = {}
    for c in inventory.components:
        pid = spdx_id(f"{c.kind}-{c.group + '-' if c.group else ''}{c.name}-{c.version or ''}", used)
        ids[c.ref] = pid
        checksums = [Checksum(ChecksumAlgorithm.SHA256, c.sha256)] if c.sha256 else []
        if c.sha512:
            checksums.append(Checksum(ChecksumAlgorithm.SHA512, c.sha512))
        refs = [ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", c.purl)] if c.purl else []
        comment = "; ".join(f"{k}={v}" for k, v in c.properties) or None
        packages.append(Package(spdx_id=pid, name=c.name, download_location=SpdxNoAssertion(), version=c.version,
                                files_analyzed=False, checksums=checksums, external_references=refs,
                                summary=c.description, comment=comment,
                                primary_package_purpose=_purpose({"application": "APPLICATION", "runtime": "OTHER",
                                                                  "binary": "APPLICATION"}.get(c.kind, "LIBRARY"))))
    for c in inventory.components:
        if c.kind == "npm" and c.scope == "excluded":
            relationships.append(Relationship(ids[c.ref], RelationshipType.DEV_DEPENDENCY_OF, image_id))
        elif c.parent and c.parent in ids:
            relationships.append(Relationship(ids[c.parent], RelationshipType.CONTAINS, ids[c.ref]))
        else:
            relationships.append(Relationship(image_id, RelationshipType.CONTAINS, ids[c.ref]))
    doc = Document(creation_info=info, packages=packages, relationships=relationships)
    problems = validate_full_spdx_document(doc)
    if problems:
        raise AuroraError(f"the SPDX document aurora made does not validate: {problems[0].validation_message}",
                          hint="please report this with `aurora --debug sbom ...`")
    out = io.StringIO()
    write_document_to_stream(doc, out, validate=False)
    return json.dumps(json.loads(out.getvalue()), indent=2, sort_keys=True) + "\n"


def _purpose(name: str):

    return PackagePurpose[name]


def render(inventory: inv.Inventory, fmt: str) -> str:
    if fmt == "cyclonedx":
        return cyclonedx(inventory)
    if fmt == "spdx":
        return spdx(inventory)
    raise UsageError(f"--format {fmt!r}: use cyclonedx or spdx")


def make(image: str | None, app_dir: Path | None, fmt: str, opts: RegistryOptions,
         attached: bool = True, report: Reporter = SILENT) -> str:
    """``aurora sbom``: read a registry image's attached SBOM, or describe an image's layers."""
    lockfile = lockfile_for(app_dir) if app_dir is not None else None
    if image is None:
        assert app_dir is not None
        # The app's own image, as `aurora build -C DIR` left it in local storage.
        image = str(TransportRef("containers-storage", Project.load(app_dir).plan.image))
    given = with_transport(image, default="")
    # A name without a transport is a registry's when it names one (host:5000/x, ghcr.io/x).
    remote = given.in_registry or (given.transport == "" and _names_registry(image))
    ref = given.target if remote else image
    if remote and attached and fmt == "spdx":
        report.note("note: aurora attaches CycloneDX; the SPDX document is made from the image's layers")
    if remote and attached and fmt == "cyclonedx":
        found = attach.read_sbom(ref, FORMATS[fmt], opts, report=report)
        if found is not None:
            return found
        raise AuroraError(f"{ref}: no {fmt} SBOM is attached to it",
                          hint="`aurora build --push` attaches one; `aurora sbom --from-layers REF` describes"
                          " the image from its layers instead")
    files = imagefs.read_image(str(in_registry(ref)) if remote else image, opts, report=report)
    name = given.target
    return render(inventory(files, name, lockfile, report=report), fmt)


def _names_registry(ref: str) -> bool:
    """``host:5000/x`` or ``ghcr.io/x`` names a registry; ``localhost/x`` is local storage."""
    first = ref.split("/", 1)[0]
    return "/" in ref and first != "localhost" and ("." in first or ":" in first)
