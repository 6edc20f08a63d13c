"""`aurora smoke --kube` beyond one Pod: every Pod the podman target writes for a clustered app
(on a network of its own, at the addresses the member list names), the database Secret and
ConfigMap from values the user gives, and the checks that every node answers its health path,
sees every member of the cluster, and reaches the database.

The checks take ``get``, ``sleep`` and ``clock`` so that recorded answers can drive them.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from aurora.checks.applog import cause_header
from aurora.checks.smoke import http_get
from aurora.config.kube import KubeDatabase
from aurora.config.smoke import Smoke
from aurora.errors import UsageError

# Hazelcast's join timeout: "hazelcast.max.join.seconds ... 300 ... Join timeout, maximum time to
# try to join before giving up" (https://docs.hazelcast.com/hazelcast/5.3/system-properties).
HAZELCAST_MAX_JOIN = ("hazelcast.max.join.seconds", 300)
REPEATS = 3  # the same non-200 answer this many times in a row is the app's last word
TAIL_LINES = 60  # of a failing node's log
PLACEHOLDER = re.compile(r"^<[^<>]*>$")

Get = Callable[..., tuple[int, str, str]]
Record = Callable[[str, "bool | None", float, str], bool]


@dataclass(frozen=True)
class Node:
    name: str  # the Pod's name in `aurora kube --target podman` (zero-demo-1)
    pod: str  # its name in this run
    container: str
    port: int = 0  # the host port of its web port, once started


@dataclass(frozen=True)
class DbValues:
    """The filled-in Secret (as a podman secret's values) and ConfigMap for [kube.database]."""

    secret: dict[str, str]
    config_map: dict | None


def db_values_for(db: KubeDatabase | None, path: Path | None) -> DbValues | None:
    """The values --db-secret gives for [kube.database]; one is needed exactly when the other is there."""
    if db is not None and path is None:
        raise UsageError(f"[kube.database]: the Pods read their Z_DB* values from Secret {db.secret!r}"
                         + (f" and ConfigMap {db.config_map!r}" if db.config_map else "") + ": --kube needs them: --db-secret FILE",
                         hint="write one to fill in with `aurora kube --db-secret-template FILE`")
    if db is None and path is not None:
        raise UsageError("--db-secret: the app has no [kube.database]: its Pods read no database Secret")
    return read_db_values(path, db) if db is not None and path is not None else None


def read_db_values(path: Path, db: KubeDatabase) -> DbValues:
    """The values of --db-secret FILE: the Secret (and ConfigMap) `aurora kube --db-secret-template`
    writes, filled in. Every key [kube.database] reads must be there, no placeholder left."""
    where = f"--db-secret {path}"
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except OSError as exc:
        raise UsageError(f"{where}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{where}: not valid YAML: {exc}") from None
    hint = "write one to fill in with `aurora kube --db-secret-template FILE`"

    def find(kind: str, name: str) -> dict:
        for d in docs:
            if isinstance(d, dict) and d.get("kind") == kind and (d.get("metadata") or {}).get("name") == name:
                return d
        raise UsageError(f"{where}: no {kind} named {name!r} ([kube.database] names it)", hint=hint)

    def values(obj: dict, keys: Sequence[str], label: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, raw in (obj.get("data") or {}).items() if obj["kind"] == "Secret" else ():
            try:
                out[key] = base64.b64decode(str(raw), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise UsageError(f"{where}: {label} -> data -> {key}: not base64 of UTF-8 text") from None
        plain = "stringData" if obj["kind"] == "Secret" else "data"
        out.update({k: str(v) for k, v in (obj.get(plain) or {}).items()})
        for key in keys:
            if key not in out:
                raise UsageError(f"{where}: {label} has no {key} (the Pods read it)", hint=hint)
            if PLACEHOLDER.match(out[key]):
                raise UsageError(f"{where}: {label} -> {key}: still the placeholder {out[key]!r}", hint="fill in the real value")
        return {k: out[k] for k in keys}

    secret_keys = [*db.secret_keys, *([] if db.config_map is not None else db.config_keys)]
    secret = values(find("Secret", db.secret), secret_keys, f"Secret {db.secret}") if db.secret and secret_keys else {}
    config_map = None
    if db.config_map is not None and db.config_keys:
        data = values(find("ConfigMap", db.config_map), db.config_keys, f"ConfigMap {db.config_map}")
        config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": db.config_map}, "data": data}
    return DbValues(secret, config_map)


def podman_secret_data(values: dict[str, str]) -> str:
    """What podman 4.3's secretKeyRef reads: a podman secret holding a JSON object of base64 values
    (a `kind: Secret` in the played file is stored, then not readable: docs/cluster.md)."""
    return json.dumps({k: base64.b64encode(v.encode("utf-8")).decode() for k, v in values.items()})


def prepare(objects: list[dict], run_id: str, *, cluster: bool, secret: tuple[str, str] | None = None,
            config_map: dict | None = None) -> tuple[list[dict], list[Node]]:
    """The objects to play and their nodes: the Pods renamed for this run (every Pod of a cluster,
    else the first), ``secret`` = (the name the Pods refer to, this run's podman secret)."""
    objs = copy.deepcopy(objects)
    pods = [o for o in objs if o["kind"] == "Pod"]
    if not cluster:
        pods = pods[:1]
    # podman makes a named volume of each volume (the ConfigMap's too, which `kube down` leaves):
    # names of this run, so that cleanup can remove them and no other run shares one.
    conf = {o["metadata"]["name"] for o in objs if o["kind"] == "ConfigMap"}
    for o in objs:
        if o["kind"] == "ConfigMap":
            o["metadata"]["name"] = f"{run_id}-{o['metadata']['name']}"[:253]
    for pod in pods:
        for v in pod["spec"].get("volumes", []):
            v["name"] = f"{run_id}-{v['name']}"[:63].rstrip("-")
            if "configMap" in v and v["configMap"]["name"] in conf:
                v["configMap"]["name"] = f"{run_id}-{v['configMap']['name']}"[:253]
        for c in pod["spec"]["containers"]:
            for m in c.get("volumeMounts", []):
                m["name"] = f"{run_id}-{m['name']}"[:63].rstrip("-")
    nodes = []
    for index, pod in enumerate(pods):
        name = pod["metadata"]["name"]
        pod["metadata"]["name"] = run_id if len(pods) == 1 else f"{run_id}-{index + 1}"
        nodes.append(Node(name, pod["metadata"]["name"], f"{pod['metadata']['name']}-{pod['spec']['containers'][0]['name']}"))
        for c in pod["spec"]["containers"]:
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref is not None and secret is not None and ref["name"] == secret[0]:
                    ref["name"] = secret[1]
    out = [o for o in objs if o["kind"] != "Pod"] + ([config_map] if config_map else []) + pods
    return out, nodes


def volume_names(objects: list[dict]) -> list[str]:
    """The volumes podman may make for the played Pods: one per volume, a ConfigMap's by its name."""
    names = []
    for pod in (o for o in objects if o["kind"] == "Pod"):
        for v in pod["spec"].get("volumes", []):
            names += [v["name"]] + ([v["configMap"]["name"]] if "configMap" in v else [])
    return list(dict.fromkeys(names))


def set_host_ports(objects: list[dict], nodes: list[Node], ports: Sequence[int]) -> list[Node]:
    """Each node's web port published on its own host port (``ports`` in node order)."""
    by_pod = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Pod"}
    for node, port in zip(nodes, ports):
        for c in by_pod[node.pod]["spec"]["containers"]:
            for p in c.get("ports", []):
                if "hostPort" in p:
                    p["hostPort"] = port
    return [replace(n, port=p) for n, p in zip(nodes, ports)]


def join_timeout(smoke: Smoke, conf: dict[str, bytes] | None) -> tuple[int, str]:
    """(seconds, where the number comes from) for the members check."""
    if smoke.join_timeout is not None:
        return smoke.join_timeout, "[smoke] join_timeout"
    name, default = HAZELCAST_MAX_JOIN
    text = (conf or {}).get("hazelcast.xml", b"").decode("utf-8", "replace")
    m = re.search(rf'<property\s+name="{re.escape(name)}"\s*>\s*([0-9]+)\s*</property>', text)
    if m:
        return int(m.group(1)), f"{name} in conf/hazelcast.xml"
    return default, f"Hazelcast's join timeout, {name}"


def _json(body: str) -> dict | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _short(body: str, limit: int = 240) -> str:
    text = " ".join(body.split())
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass
class NodeChecks:
    """The checks over every node: ready (health path), cluster members, database."""

    nodes: Callable[[], list[Node]]
    health: str | None
    api_prefix: str
    ready_timeout: float
    logs_of: Callable[[Node], str]
    cluster: tuple[str, int, int, str] | None = None  # path, expected members, seconds, whose timeout
    database: tuple[str, int] | None = None  # path, seconds
    get: Get = http_get
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    captured: dict[str, str] = field(default_factory=dict)  # a failing node's log, taken at the failure

    def check(self, record: Record) -> list[str]:
        """Record the checks; the names of the nodes that failed one."""
        nodes, failing = self.nodes(), []
        if len(nodes) > 1:
            failing += self._ready(nodes, record)
        live = [n for n in nodes if n.name not in failing]
        if self.cluster is not None:
            failing += self._members(live, record)
        if self.database is not None:
            failing += self._database(live, record)
        failing = list(dict.fromkeys(failing))
        # Now, not after the stop: the end of the log is then what the node did when it failed.
        self.captured = {n.name: self.logs_of(n) for n in nodes if n.name in failing}
        return failing

    def _ask(self, node: Node, path: str, timeout: float = 5) -> tuple[int | None, str]:
        try:
            status, _, body = self.get(f"http://127.0.0.1:{node.port}{path}", timeout=timeout)
            return status, body
        except OSError as exc:
            return None, str(exc)

    def _ready(self, nodes: list[Node], record: Record) -> list[str]:
        started = self.clock()
        path = self.health or self.api_prefix + "/"
        waiting = {n.name: "not asked yet" for n in nodes}
        while waiting:
            for node in [n for n in nodes if n.name in waiting]:
                status, body = self._ask(node, path, timeout=2)
                if (status == 200) if self.health else (status not in (None, 502, 503, 504)):
                    del waiting[node.name]
                else:
                    waiting[node.name] = f"→ {status}" if status is not None else body
            if not waiting or self.clock() - started >= self.ready_timeout:
                break
            self.sleep(0.5)
        took = self.clock() - started
        detail = (f"GET {path} → {'200' if self.health else 'an answer'} on every node"
                  f" ({', '.join(f'{n.name} :{n.port}' for n in nodes)}) within {took:.1f}s") if not waiting else \
            "; ".join(f"{name}: GET {path} {why}" for name, why in waiting.items()) + f" (waited {self.ready_timeout:g}s)"
        record("nodes ready", not waiting, started, detail)
        return list(waiting)

    def _members(self, nodes: list[Node], record: Record) -> list[str]:
        assert self.cluster is not None
        path, expected, seconds, source = self.cluster
        started = self.clock()
        seen: dict[str, str] = {}
        waiting = {n.name: "not asked yet" for n in nodes}
        final: dict[str, str] = {}  # answers that no wait can change
        while waiting:
            for node in [n for n in nodes if n.name in waiting]:
                status, body = self._ask(node, path)
                info = _json(body) if status is not None else None
                count = info.get("members") if info else None
                if info is not None and status == 200 and count == expected:
                    seen[node.name] = str(info.get("node", "?"))[:12]
                    del waiting[node.name]
                elif status in (404, 405) or (status == 200 and not isinstance(count, int)):
                    final[node.name] = (f"GET {path} → {status} {_short(body, 120)}: no JSON with an integer"
                                        " `members` (set [smoke] cluster_path to the app's own)")
                    del waiting[node.name]
                else:
                    waiting[node.name] = (f"GET {path} → {status} members {count}" if info is not None else
                                          f"GET {path} → {status} {_short(body, 120)}")
            if not waiting or self.clock() - started >= seconds:
                break
            self.sleep(1)
        failed = {**final, **{k: f"{v}, not {expected} (waited {seconds}s: {source})" for k, v in waiting.items()}}
        order = [n.name for n in nodes]
        failed = {k: failed[k] for k in order if k in failed}
        seen = {k: seen[k] for k in order if k in seen}
        took = self.clock() - started
        detail = "; ".join(f"{k}: {v}" for k, v in failed.items()) if failed else \
            f"{expected} member(s) seen by every node ({', '.join(f'{k}: node {v}' for k, v in seen.items())}) within {took:.1f}s"
        record("cluster members", not failed, started, detail)
        return list(failed)

    def _database(self, nodes: list[Node], record: Record) -> list[str]:
        assert self.database is not None
        path, seconds = self.database
        started, failed, first = self.clock(), {}, ""
        for node in nodes:
            last: tuple[int | None, str] | None = None
            repeats = 0
            while True:
                answer = self._ask(node, path, timeout=30)
                if answer[0] == 200:
                    first = first or _short(answer[1], 160)
                    break
                repeats = repeats + 1 if answer == last else 1
                last = answer
                if repeats >= REPEATS or self.clock() - started >= seconds:
                    status, body = answer
                    failed[node.name] = f"GET {path} → {status if status is not None else 'no answer'} {_short(body)}"
                    break
                self.sleep(1)
        detail = "; ".join(f"{k}: {v}" for k, v in failed.items()) if failed else \
            f"GET {path} → 200 on {', '.join(n.name for n in nodes)}: {first}"
        record("database", not failed, started, detail)
        return list(failed)

    def logs(self, names: list[str]) -> str:
        """The last lines of each failing node's container log."""
        out = []
        for node in [n for n in self.nodes() if n.name in names]:
            lines = (self.captured[node.name] if node.name in self.captured else self.logs_of(node)).splitlines()
            out += cause_header("\n".join(lines))
            out.append(f"--- {node.name} ({node.container}), the last {min(len(lines), TAIL_LINES)} of {len(lines)} lines")
            out += lines[-TAIL_LINES:]
        return "\n".join(out)
