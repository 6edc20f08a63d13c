"""Which builder makes the image: the engine by default (for now) and with --no-assemble, the
assembler with --assemble; an engine that builds into a registry keeps its own row, and refuses an
explicit --assemble. And the provenance names the path that made the image."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurora.engines import EngineName
from aurora.errors import UsageError
from aurora.pipeline.options import Options
from aurora.pipeline.builders import BuildJob, select
from aurora.supply import provenance
from aurora.supply.publish import SupplyOptions


class Plan:
    """The fields the builders' table and the provenance read."""

    platforms: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    labels = {"org.opencontainers.image.source": "https://example.com/zero.git"}
    version, tags, secrets, source_date_epoch = "1.0", ("r.io/zero/app:1",), (), 1700000000

    class bases:  # noqa: N801 - a stand-in for the plan's base set
        name = "offline"


def chosen(plan=None, **job) -> str:
    engine = job.pop("engine", EngineName.BUILDAH)
    info, _ = select(BuildJob(Options(app_dir=Path("."), engine=engine), **job), plan or Plan())  # type: ignore[arg-type]
    return info.name


def test_the_assembler_is_the_default_and_no_assemble_chooses_the_engine():
    assert chosen() == "assembler"
    assert chosen(assemble=True) == "assembler"
    assert chosen(assemble=False) == "single"
    assert BuildJob(Options(app_dir=Path("."))).assemble is None  # the default, not an explicit flag


def test_multi_platform_and_the_executor_keep_their_rows():
    multi = Plan()
    multi.platforms = ("linux/amd64", "linux/arm64")
    assert chosen(multi) == "multi-platform"
    assert chosen(engine=EngineName.KANIKO, push=True) == "executor"
    with pytest.raises(UsageError, match="--assemble: the kaniko engine builds and pushes the whole image itself"):
        chosen(engine=EngineName.KANIKO, push=True, assemble=True)


@pytest.mark.parametrize("builder", ["assembler", "engine"])
def test_the_provenance_names_the_path_that_made_the_image(builder):
    doc = provenance.statement("r.io/zero/app", "sha256:" + "a" * 64, "sha256:" + "b" * 64, Plan(), {},  # type: ignore[arg-type]
                               "buildah", builder)
    assert doc["predicate"]["buildDefinition"]["externalParameters"]["builder"] == builder
    assert SupplyOptions().builder == "engine"


def test_assemble_with_cache_to_needs_a_push():
    with pytest.raises(UsageError, match="--assemble --cache-to"):
        select(BuildJob(Options(app_dir=Path("."), cache_to="r.io/zero/cache"), assemble=True), Plan())  # type: ignore[arg-type]
    assert chosen(push=True, assemble=True) == "assembler"
