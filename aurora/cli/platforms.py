"""`aurora build --platform A,B`: one image per platform and an OCI image index (cli/build.py
hands over here when more than the build machine's platform is asked for)."""

from __future__ import annotations

import json
from pathlib import Path

from aurora.cli.app import log, step
from aurora.cli.options import write_digest

# Imports of the pipeline happen when the command runs (see cli/build.py).


def build_multi(opts, *, push: bool, reg, digest_file: Path | None, sbom: bool, signing: bool,
                as_json: bool) -> None:
    from aurora.engines import opened
    from aurora.errors import UsageError
    from aurora.pipeline import last_build, multi
    from aurora.pipeline.publish import push_index

    if signing:
        raise UsageError("--sign-key: signing a multi-platform index is not done yet",
                         hint="build one platform to sign, or sign the pushed digest afterwards")
    with opened() as engines:
        plan, built = multi.build(opts, engines, log=log, step=step)
        result = built.as_dict()
        for image in built.images:
            b = image.built
            step(f"built {image.platform}: {b.image} ({b.id[:12]}, {b.layers} layers, {b.size_bytes / 1e6:.1f} MB)")
        if push:
            engine = engines(str(opts.engine))
            pushed = [push_index(engine, tag, tag, reg, log=log, note=step) for tag in built.indexes]
            for p in pushed:
                step(f"pushed {p.destination} {p.digest} (an index, read back from the registry): "
                     + ", ".join(f"{platform} {digest}" for platform, digest in p.manifests))
            if sbom:
                step("note: no SBOM or provenance is attached to a multi-platform index yet")
            result["digest"] = pushed[0].digest
            result["pushed"] = [p.destination for p in pushed]
            result["pushed_indexes"] = [p.as_dict() for p in pushed]
            write_digest(digest_file, pushed[0].digest)
    last_build.record(opts.app_dir, plan.image, "", result.get("digest"))
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print(result.get("digest") and f"{plan.image}@{result['digest']}" or plan.image)
