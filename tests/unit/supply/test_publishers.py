"""Every builder's result goes through the same publishers: what gets an SBOM (each pushed
image) and what gets the provenance and the signature (what each tag names), per kind of build."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurora.engines.protocol import BuiltImage
from aurora.host.registry import RegistryOptions
from aurora.pipeline.builders import BuildResult
from aurora.pipeline.multi import PlatformImage
from aurora.pipeline.publish import Pushed, PushedIndex
from aurora.pipeline.publisher import Published
from aurora.supply import publish as supply_publish

A, B, IDX = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64
ID_AMD, ID_ARM = "1" * 64, "2" * 64


class Plan:
    image, tags = "r.io/zero/app:1", ("r.io/zero/app:1",)


def built(image_id: str, tag: str) -> BuiltImage:
    return BuiltImage(tag, image_id, (tag,), 1, 1)


def test_a_single_image_gets_every_attachment_on_its_pushed_digest():
    result = BuildResult(Plan(), "buildah", (PlatformImage("linux/amd64", built(ID_AMD, "r.io/zero/app:1")),))  # type: ignore[arg-type]
    pushed = Published(result, (Pushed("r.io/zero/app:1", "r.io/zero/app:1", A),))
    images, tagged = supply_publish.subjects(pushed, storage=True, opts=RegistryOptions())
    assert images == tagged == [supply_publish.Subject(pushed.pushed[0], f"containers-storage:{ID_AMD}", ID_AMD)]
    images, _ = supply_publish.subjects(pushed, storage=False, opts=RegistryOptions())  # docker: read from the registry
    assert images[0].local_image is None


def test_an_index_gets_an_sbom_per_image_and_the_rest_on_the_index():
    images_built = (PlatformImage("linux/amd64", built(ID_AMD, "r.io/zero/app:1-amd64")),
                    PlatformImage("linux/arm64", built(ID_ARM, "r.io/zero/app:1-arm64")))
    result = BuildResult(Plan(), "buildah", images_built, index=True)  # type: ignore[arg-type]
    index = PushedIndex("r.io/zero/app:1", "r.io/zero/app:1", IDX, (("linux/amd64", A), ("linux/arm64", B)))
    images, tagged = supply_publish.subjects(Published(result, indexes=(index,)), storage=True, opts=RegistryOptions())
    assert [(s.pushed.digest, s.local_image, s.image_id) for s in images] == [
        (A, f"containers-storage:{ID_AMD}", ID_AMD), (B, f"containers-storage:{ID_ARM}", ID_ARM)]
    assert [(s.pushed.destination, s.pushed.digest) for s in tagged] == [("r.io/zero/app:1", IDX)]


def test_what_the_executor_pushed_is_read_back_from_the_registry(monkeypatch):
    result = BuildResult(Plan(), "kaniko", pushed=(Pushed("r.io/zero/app:1", "r.io/zero/app:1", A),))  # type: ignore[arg-type]
    asked: list[str] = []
    monkeypatch.setattr(supply_publish, "raw_manifest",
                        lambda ref, opts: asked.append(ref) or b'{"config": {"digest": "%s"}}' % ID_ARM.encode())
    images, tagged = supply_publish.subjects(Published(result, result.pushed), storage=False, opts=RegistryOptions())
    assert images == tagged and [(s.local_image, s.image_id) for s in images] == [(None, ID_ARM)]
    assert asked == [f"docker://r.io/zero/app@{A}"]
    # --no-sbom: no provenance either, so the registry is not asked.
    supply_publish.subjects(Published(result, result.pushed), storage=False, opts=RegistryOptions(), ids=False)
    assert len(asked) == 1


@pytest.mark.parametrize("engine", ["buildah", "kaniko"])
def test_every_build_goes_through_the_supply_chain_publisher(engine, monkeypatch):
    monkeypatch.setattr(supply_publish, "check_bases", lambda plan, engine: {})
    monkeypatch.setattr(supply_publish, "runtime_digest", lambda plan: None)
    result = BuildResult(Plan(), engine)  # type: ignore[arg-type]
    chosen = supply_publish.publisher(lambda name: None, result, sbom=True, key=None, forbidden=(),  # type: ignore[arg-type]
                                      opts=RegistryOptions())
    assert isinstance(chosen, supply_publish.SupplyChainPublisher)
    assert chosen.storage is (engine == "buildah")


def test_the_build_json_shape_has_every_key_whatever_the_build(tmp_path: Path):
    keys = {"image", "id", "tags", "size_bytes", "layers", "engine", "index", "indexes", "images", "files", "digest",
            "pushed", "pushed_indexes", "sbom", "provenance", "signatures"}
    one = BuildResult(Plan(), "buildah", (PlatformImage("linux/amd64", built(ID_AMD, "r.io/zero/app:1")),))  # type: ignore[arg-type]
    assert set(one.as_dict()) == keys and one.as_dict()["id"] == ID_AMD and one.as_dict()["digest"] is None
    index = BuildResult(Plan(), "buildah", one.images, index=True)  # type: ignore[arg-type]
    assert set(index.as_dict()) == keys and index.as_dict()["index"] == "r.io/zero/app:1"
    assert index.as_dict()["id"] is None
    pushed = Published(one, (Pushed("r.io/zero/app:1", "r.io/zero/app:1", A),))
    assert set(pushed.as_dict()) == keys and pushed.as_dict()["digest"] == A
    assert pushed.as_dict()["pushed"] == ["r.io/zero/app:1"]
