"""The context tarball kaniko builds from (the Job's and `--engine kaniko --push`'s)."""

from __future__ import annotations

import io
import os
import tarfile

from aurora.pipeline.tarball import context_tarball


def test_owners_times_and_order_are_fixed(tmp_path):
    """kaniko's COPY keeps the context's owners: whoever staged the files, they are 0 in it."""
    (tmp_path / "c" / "d").mkdir(parents=True)
    (tmp_path / "c" / "d" / "f").write_text("x")
    (tmp_path / "c" / "a").write_text("y")
    (tmp_path / "c" / "a").chmod(0o755)
    if os.geteuid() == 0:
        os.chown(tmp_path / "c" / "d" / "f", 4242, 4343)
    with tarfile.open(fileobj=io.BytesIO(context_tarball(tmp_path / "c"))) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["a", "d", "d/f"]
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", 0)}
    assert members[0].mode == 0o755  # modes kept
