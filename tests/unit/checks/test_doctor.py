"""doctor's checks on recorded host states: this CI host (recorded), and variants of it."""

from __future__ import annotations

import json

import pytest

from aurora.checks.doctor import HostState, check
from aurora.host.hints import hint_for
from tests.conftest import DATA

RECORDED = json.loads((DATA / "hosts" / "debian12-hybrid-root.json").read_text())


def state(**changes) -> HostState:
    return HostState(**{**RECORDED, **changes})


def by_check(checks):
    return {c.name: c for c in checks}


def test_recorded_host_has_no_failure():
    found = by_check(check(state()))
    assert all(f.status != "fail" for f in found.values()), [f for f in found.values() if f.status == "fail"]
    assert "hybrid" in found["cgroups"].detail
    assert found["run with crun"].status == "warn"  # crun refuses hybrid; podman uses runc
    assert found["run with runc"].status == "pass"


def test_cgroup_v1_with_crun_configured_fails_with_the_fix():
    f = by_check(check(state(cgroup_unified=False, podman_runtime="crun", runtime_trials={})))["cgroups"]
    assert f.status == "fail" and "cgroup v1" in f.detail and 'runtime = "runc"' in f.fix


def test_cgroup_v2_is_fine_with_crun():
    f = by_check(check(state(cgroup_fs="cgroup2fs", cgroup_unified=False, podman_runtime="crun",
                             runtime_trials={"crun": "ok"})))
    assert f["cgroups"].status == "pass" and "v2" in f["cgroups"].detail
    assert f["run with crun"].status == "pass"


def test_failing_runtime_in_use_is_a_failure_with_the_doctor_hint():
    text = "Error: runc: runc create failed: unable to start container process: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted"
    f = by_check(check(state(runtime_trials={"runc": text})))["run with runc"]
    assert f.status == "fail" and "default_ulimits" in f.fix


def test_ulimits_above_the_hard_limit():
    f = by_check(check(state(default_ulimits=[], nofile_hard=20000)))["ulimits"]
    assert f.status == "fail" and "nofile=20000:20000" in f.fix


def test_missing_subuid_for_a_user():
    f = by_check(check(state(uid=1000, user="dev", subuid=False, subgid=False)))["subuid/subgid"]
    assert f.status == "fail" and "dev:100000:65536" in f.fix


def test_tun_not_accessible():
    f = by_check(check(state(tun_mode=0o600)))["/dev/net/tun"]
    assert f.status == "warn" and f.fix == "chmod 666 /dev/net/tun"


def test_missing_tools():
    tools = {**RECORDED["tools"], "buildah": None, "mmdebstrap": None}
    found = by_check(check(state(tools=tools)))
    assert found["buildah"].status == "fail" and found["buildah"].fix == "apt-get install buildah"
    assert found["mmdebstrap"].status == "warn"


def test_vfs_storage_warns():
    assert by_check(check(state(storage_driver="vfs")))["storage"].status == "warn"


def test_binfmt_listed():
    f = by_check(check(state(binfmt=["qemu-aarch64"])))["foreign architectures"]
    assert f.status == "pass" and "qemu-aarch64" in f.detail


@pytest.mark.parametrize("text, expected", [
    ("crun: cgroups in hybrid mode not supported, drop all controllers from cgroupv2", "use runc"),
    ('slirp4netns failed: "open(\\"/dev/net/tun\\"): Permission denied"', "chmod 666 /dev/net/tun"),
    ('building local pause image: finding pause binary: exec: "catatonit": executable file not found', "apt-get install catatonit"),
    ("something else entirely", None),
])
def test_hints(text, expected):
    hint = hint_for(text)
    assert (hint is None) if expected is None else (expected in hint)
