"""`python -m bench.kube_peers`: JKube's `k8s:resource` YAML beside `aurora kube`'s for the demo,
both through the strict schema check and the restricted Pod Security checks of aurora's tests
(tests/unit/deploy/test_kube.py). Needs Maven (JKube comes from Maven Central once) and the test
extras (kubernetes-validate). Prints a markdown table (docs/kube.md quotes it)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from bench import sh
from tests.unit.deploy.test_kube import restricted_violations

ROOT = Path(__file__).resolve().parent.parent
JKUBE = "org.eclipse.jkube:kubernetes-maven-plugin:1.18.1"


def objects(text: str) -> list[dict]:
    out = []
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        out += doc["items"] if doc.get("kind") == "List" else [doc]
    return out


def check(objs: list[dict]) -> dict:
    import kubernetes_validate

    version = kubernetes_validate.latest_version()
    schema_errors = []
    for o in objs:
        try:
            kubernetes_validate.validate(o, version, strict=True)
        except Exception as exc:  # noqa: BLE001 - the message is the result
            schema_errors.append(f"{o['kind']}: {str(exc).splitlines()[0][:120]}")
    dep = next((o for o in objs if o["kind"] == "Deployment"), None)
    pod = dep["spec"]["template"]["spec"] if dep else {}
    c = (pod.get("containers") or [{}])[0]
    return {
        "kinds": sorted({o["kind"] for o in objs}),
        "schema": schema_errors,
        "restricted": restricted_violations(pod) if pod else ["no Deployment"],
        "probes": [p for p in ("startupProbe", "livenessProbe", "readinessProbe") if p in c],
        "resources": bool(c.get("resources")),
        "ports": [p.get("containerPort") for p in c.get("ports", [])],
        "version": version,
    }


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="aurora-kube-peers-") as tmp:
        app = Path(tmp) / "zero-demo"
        shutil.copytree(ROOT / "images" / "zero-demo", app,
                        ignore=shutil.ignore_patterns("node_modules", "target", "build", ".aurora"))
        sh.run(["mvn", "-B", "-q", "package", f"{JKUBE}:resource"], cwd=str(app / "backend"), timeout=1800)
        jkube = objects((app / "backend/target/classes/META-INF/jkube/kubernetes.yml").read_text())
        out = sh.run([sys.executable, "-m", "aurora", "kube", "-C", str(app)], timeout=300).stdout
        aurora = objects(out)
    rows = {"JKube `k8s:resource` (defaults)": check(jkube), "aurora kube": check(aurora)}
    print(f"| output | objects | strict schema ({rows['aurora kube']['version']}) | restricted Pod Security "
          "| probes | resources | container ports |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        bad = r["restricted"]
        restricted = "passes" if not bad else f"{len(bad)} violations: " + "; ".join(bad)
        schema = "passes" if not r["schema"] else "; ".join(r["schema"])
        print(f"| {name} | {', '.join(r['kinds'])} | {schema} | {restricted} | {', '.join(r['probes']) or 'none'} | "
              f"{'yes' if r['resources'] else 'none'} | {', '.join(map(str, r['ports']))} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
