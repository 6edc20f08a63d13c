"""The files of the one-node cluster (tests/integration/kubenode.py): certificates, tokens,
component configs, the CNI conf, containerd's config, and the two images the node needs
besides the app's (the pod sandbox from Debian's catatonit, CoreDNS from its built binary).

Pure writers: each takes the folder and the values it needs, and returns what it wrote.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import secrets
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from tests.integration.conftest import sh

NODE = "aurora-node"
BRIDGE = "akube0"
NODE_IP = "10.244.0.1"
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/24"
API_SERVICE_IP = "10.96.0.1"
DNS_IP = "10.96.0.10"
DOMAIN = "cluster.local"
USERS = {  # token user → groups; the default RBAC roles bind these names
    "admin": "system:masters",
    f"system:node:{NODE}": "system:nodes",
    "system:kube-controller-manager": "",
    "system:kube-scheduler": "",
    "system:kube-proxy": "",
}


@dataclass(frozen=True)
class Pki:
    ca: Path
    ca_key: Path
    server_crt: Path
    server_key: Path
    client_crt: Path  # the apiserver's, to the kubelet
    client_key: Path
    sa_key: Path
    sa_pub: Path
    tokens: dict[str, str]  # user → token
    token_file: Path


def pki(folder: Path) -> Pki:
    """A CA, the apiserver's serving and kubelet-client certificates, service-account keys, tokens."""
    folder.mkdir(parents=True, exist_ok=True)
    f = {n: folder / n for n in ("ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "kubelet-client.crt",
                                 "kubelet-client.key", "sa.key", "sa.pub")}
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=aurora test kubernetes CA",
       "-keyout", str(f["ca.key"]), "-out", str(f["ca.crt"]))
    sans = ",".join([f"IP:{ip}" for ip in ("127.0.0.1", API_SERVICE_IP, NODE_IP)]
                    + [f"DNS:{n}" for n in ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                            f"kubernetes.default.svc.{DOMAIN}")])
    _signed(folder, "apiserver", "/CN=kube-apiserver", f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n")
    _signed(folder, "kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", "extendedKeyUsage=clientAuth\n")
    sh("openssl", "genrsa", "-out", str(f["sa.key"]), "2048")
    sh("openssl", "rsa", "-in", str(f["sa.key"]), "-pubout", "-out", str(f["sa.pub"]))
    tokens = {user: secrets.token_hex(16) for user in USERS}
    token_file = folder / "tokens.csv"
    token_file.write_text("".join(f'{tokens[u]},{u},{u},"{g}"\n' if g else f"{tokens[u]},{u},{u}\n" for u, g in USERS.items()))
    return Pki(f["ca.crt"], f["ca.key"], f["apiserver.crt"], f["apiserver.key"], f["kubelet-client.crt"],
               f["kubelet-client.key"], f["sa.key"], f["sa.pub"], tokens, token_file)


def _signed(folder: Path, name: str, subject: str, ext: str) -> None:
    key, csr, crt, extfile = (folder / f"{name}.{s}" for s in ("key", "csr", "crt", "ext"))
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", str(key), "-out", str(csr))
    extfile.write_text(ext)
    sh("openssl", "x509", "-req", "-in", str(csr), "-CA", str(folder / "ca.crt"), "-CAkey", str(folder / "ca.key"),
       "-CAcreateserial", "-days", "2", "-extfile", str(extfile), "-out", str(crt))


def kubeconfig(path: Path, server: str, ca: Path, user: str, token: str) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "aurora-test",
        "clusters": [{"name": "aurora-test", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "aurora-test", "context": {"cluster": "aurora-test", "user": user}}],
    }, indent=1))
    return path


def admission_config(folder: Path) -> Path:
    """PodSecurity enforcing `restricted` in every namespace but kube-system."""
    level = {k: v for mode in ("enforce", "audit", "warn") for k, v in ((mode, "restricted"), (f"{mode}-version", "latest"))}
    path = folder / "admission.json"
    path.write_text(json.dumps({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
        "plugins": [{"name": "PodSecurity", "configuration": {
            "apiVersion": "pod-security.admission.config.k8s.io/v1", "kind": "PodSecurityConfiguration",
            "defaults": level,
            "exemptions": {"usernames": [], "runtimeClasses": [], "namespaces": ["kube-system"]}}}],
    }, indent=1))
    return path


def cni_conf(folder: Path, ipam_dir: Path) -> Path:
    """A bridge on the Pod range; no masquerade and no portmap: nothing of the CNI in iptables."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "10-aurora-kube.conflist"
    path.write_text(json.dumps({
        "cniVersion": "1.0.0", "name": "aurora-kube",
        "plugins": [{"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False, "hairpinMode": True,
                     "ipam": {"type": "host-local", "dataDir": str(ipam_dir), "routes": [{"dst": "0.0.0.0/0"}],
                              "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]]}}],
    }, indent=1))
    return path


def containerd_config(root: Path, sandbox_image: str, registry: str) -> Path:
    """A containerd of the node's own: root, state, socket, CNI conf and registry hosts apart."""
    certs = root / "certs.d" / registry
    certs.mkdir(parents=True, exist_ok=True)
    (certs / "hosts.toml").write_text(f'server = "http://{registry}"\n\n[host."http://{registry}"]\n'
                                      '  capabilities = ["pull", "resolve"]\n')
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    path = root / "config.toml"
    path.write_text(f"""version = 2
root = "{root / 'root'}"
state = "{root / 'state'}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{root / 'containerd.sock'}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{root / 'opt'}"
[{cri}]
  sandbox_image = "{sandbox_image}"
  # A Pod sandbox asks for oom_score_adj -998, which a sandboxed kernel refuses.
  restrict_oom_score_adj = true
  enable_selinux = false
[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[{cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "{root / 'cni'}"
[{cri}.registry]
  config_path = "{root / 'certs.d'}"
""")
    return path


def kubelet_config(folder: Path, ca: Path, socket: Path, port: int, logs: Path) -> Path:
    path = folder / "kubelet.json"
    path.write_text(json.dumps({
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "address": NODE_IP, "port": port, "readOnlyPort": 0, "healthzPort": 0,
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": False},
                           "x509": {"clientCAFile": str(ca)}},
        "authorization": {"mode": "AlwaysAllow"},
        "cgroupDriver": "cgroupfs", "failSwapOn": False, "failCgroupV1": False,
        "containerRuntimeEndpoint": f"unix://{socket}",
        "clusterDNS": [DNS_IP], "clusterDomain": DOMAIN, "podLogsDir": str(logs),
        "serializeImagePulls": False, "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "nodeStatusReportFrequency": "10s", "syncFrequency": "10s",
        "resolvConf": "/etc/resolv.conf",
    }, indent=1))
    return path


def kube_proxy_config(folder: Path, kubeconfig_path: Path, healthz: int, metrics: int) -> Path:
    path = folder / "kube-proxy.json"
    path.write_text(json.dumps({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig_path)}, "mode": "iptables",
        "clusterCIDR": POD_CIDR, "hostnameOverride": NODE,
        "healthzBindAddress": f"127.0.0.1:{healthz}", "metricsBindAddress": f"127.0.0.1:{metrics}",
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"localhostNodePorts": False},  # leaves route_localnet alone
    }, indent=1))
    return path


def _tar_gz(files: dict[str, tuple[Path, int]]) -> bytes:
    """A reproducible gzipped layer: name → (source file, mode)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, (src, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = src.stat().st_size, mode, 0
            with open(src, "rb") as fh:
                tar.addfile(info, fh)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def oci_layout(folder: Path, files: dict[str, tuple[Path, int]], entrypoint: list[str]) -> Path:
    """A one-layer OCI image layout (for `skopeo copy oci:FOLDER docker://…`)."""
    if folder.exists():
        shutil.rmtree(folder)
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes, media: str) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"mediaType": media, "digest": f"sha256:{digest}", "size": len(data)}

    layer = _tar_gz(files)
    diff_id = "sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()
    config = blob(json.dumps({"architecture": "amd64", "os": "linux",
                              "config": {"Entrypoint": entrypoint, "Env": ["PATH=/"]},
                              "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode(),
                  "application/vnd.oci.image.config.v1+json")
    manifest = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "config": config,
                                "layers": [blob(layer, "application/vnd.oci.image.layer.v1.tar+gzip")]}).encode(),
                    "application/vnd.oci.image.manifest.v1+json")
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest]}))
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return folder


def coredns_objects(image: str) -> list[dict]:
    """CoreDNS as a Deployment in kube-system, with the RBAC its kubernetes plugin needs."""
    meta = {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}}
    corefile = (".:53 {\n    errors\n    health :8080\n    ready :8181\n"
                f"    kubernetes {DOMAIN} in-addr.arpa ip6.arpa {{\n        pods insecure\n"
                "        fallthrough in-addr.arpa ip6.arpa\n    }\n    cache 30\n}\n")
    pod = {"serviceAccountName": "coredns", "dnsPolicy": "Default", "priorityClassName": "system-cluster-critical",
           "containers": [{"name": "coredns", "image": image, "args": ["-conf", "/etc/coredns/Corefile"],
                           "ports": [{"containerPort": 53, "protocol": "UDP", "name": "dns"},
                                     {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}],
                           "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
                           "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns"}]}],
           "volumes": [{"name": "config", "configMap": {"name": "coredns"}}]}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "system:coredns"},
         "rules": [{"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"], "verbs": ["list", "watch"]},
                   {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "system:coredns"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
         "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"Corefile": corefile}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
         "spec": {"replicas": 1, "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                  "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}}, "spec": pod}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {**meta, "name": "kube-dns"},
         "spec": {"clusterIP": DNS_IP, "selector": {"k8s-app": "kube-dns"},
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}},
    ]
