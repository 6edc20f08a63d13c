"""The rollout verdicts of aurora deploy, on objects shaped as the API server returns them."""

from __future__ import annotations

from aurora.deploy import rollout


def deployment(revision: str = "2", *, replicas: int = 2, updated: int = 0, ready: int = 0, available: int = 0,
               total: int | None = None, generation: int = 3, observed: int = 3, conditions=()) -> dict:
    return {"metadata": {"name": "zero-demo", "generation": generation,
                         "annotations": {rollout.REVISION: revision}},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "replicas": total if total is not None else replicas,
                       "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available,
                       "conditions": list(conditions)}}


def replicaset(name: str, revision: str, *, ready: int = 0, replicas: int = 0, conditions=()) -> dict:
    return {"metadata": {"name": name, "uid": f"uid-{name}", "annotations": {rollout.REVISION: revision}},
            "status": {"replicas": replicas, "readyReplicas": ready, "conditions": list(conditions)}}


def pod(name: str, rs: str, *, waiting: dict | None = None, last: dict | None = None, restarts: int = 0) -> dict:
    status: dict = {"name": "app", "restartCount": restarts, "state": {"waiting": waiting} if waiting else {"running": {}}}
    if last:
        status["lastState"] = {"terminated": last}
    return {"metadata": {"name": name, "ownerReferences": [{"uid": f"uid-{rs}"}]},
            "status": {"phase": "Pending" if waiting else "Running", "containerStatuses": [status],
                       "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                                       "message": "containers with unready status: [app]"}]}}


OLD = replicaset("zero-demo-old", "1", ready=2, replicas=2)
NEW = replicaset("zero-demo-new", "2", replicas=1)


def test_done_only_when_every_replica_is_updated_and_available_and_no_old_one_is_left():
    going = rollout.Snapshot(deployment(updated=2, ready=2, available=2, total=3), [OLD, NEW], [])
    assert not rollout.judge(going).done
    assert rollout.judge(going).progress == "2/2 updated, 2 ready, 2 available, 2 old still serving"
    done = rollout.Snapshot(deployment(updated=2, ready=2, available=2), [NEW], [])
    assert rollout.judge(done).done and not rollout.judge(done).failed


def test_an_unseen_generation_is_waited_for():
    snap = rollout.Snapshot(deployment(updated=2, ready=2, available=2, observed=2), [NEW], [])
    verdict = rollout.judge(snap)
    assert not verdict.done and not verdict.failed and verdict.progress == "waiting for the Deployment controller"


def test_an_admission_refusal_fails_at_once_with_the_reason():
    message = ('pods "zero-demo-new-x" is forbidden: violates PodSecurity "restricted:latest": '
               'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)')
    refused = replicaset("zero-demo-new", "2", conditions=[{"type": "ReplicaFailure", "status": "True",
                                                            "reason": "FailedCreate", "message": message}])
    verdict = rollout.judge(rollout.Snapshot(deployment(), [OLD, refused], []))
    assert verdict.failed and verdict.reasons == (f"ReplicaSet zero-demo-new: {message}",)


def test_an_image_pull_error_fails_with_the_kubelets_message():
    waiting = {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "r/x@sha256:00"'}
    verdict = rollout.judge(rollout.Snapshot(deployment(), [OLD, NEW], [pod("p1", "zero-demo-new", waiting=waiting)]))
    assert verdict.failed
    assert verdict.reasons == ('Pod p1: container app: ImagePullBackOff: Back-off pulling image "r/x@sha256:00"',)


def test_a_crash_loop_names_the_container_whose_log_tells_why():
    waiting = {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container"}
    crashed = pod("p1", "zero-demo-new", waiting=waiting, last={"exitCode": 3}, restarts=2)
    verdict = rollout.judge(rollout.Snapshot(deployment(), [NEW], [crashed, pod("p2", "zero-demo-old")]))
    assert verdict.failed and verdict.crashed == (("p1", "app"),)
    assert "(exit code 3, 2 restarts)" in verdict.reasons[0]


def test_a_pod_of_the_old_revision_does_not_fail_the_new_one():
    waiting = {"reason": "ErrImagePull", "message": "not found"}
    verdict = rollout.judge(rollout.Snapshot(deployment(), [OLD, NEW], [pod("p0", "zero-demo-old", waiting=waiting)]))
    assert not verdict.failed


def test_a_progress_deadline_fails():
    cond = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
            "message": 'ReplicaSet "zero-demo-new" has timed out progressing.'}
    verdict = rollout.judge(rollout.Snapshot(deployment(conditions=[cond]), [NEW], []))
    assert verdict.failed and "timed out progressing" in verdict.reasons[0]


def test_when_time_runs_out_the_probe_warnings_and_what_still_serves_are_said():
    events = [{"type": "Warning", "reason": "Unhealthy", "involvedObject": {"name": "p1"}, "lastTimestamp": "2",
               "message": "Readiness probe failed: HTTP probe failed with statuscode: 404"},
              {"type": "Warning", "reason": "Unhealthy", "involvedObject": {"name": "p1"}, "lastTimestamp": "3",
               "message": "Readiness probe failed: HTTP probe failed with statuscode: 404"},
              {"type": "Warning", "reason": "BackOff", "involvedObject": {"name": "elsewhere"}, "message": "x"},
              {"type": "Normal", "reason": "Pulled", "involvedObject": {"name": "p1"}, "message": "pulled"}]
    snap = rollout.Snapshot(deployment(), [OLD, NEW], [pod("p1", "zero-demo-new")], events)
    assert rollout.stuck(snap) == [
        "Pod p1 (Running): Ready ContainersNotReady: containers with unready status: [app]",
        "event Unhealthy on Pod p1: Readiness probe failed: HTTP probe failed with statuscode: 404",
    ]
    assert rollout.serving(snap) == "ReplicaSet zero-demo-old (2 ready)"
    assert rollout.serving(rollout.Snapshot(deployment(), [NEW], [])) is None
