"""web-layer.js, the web stage's script, run with Node on folders made here: what it leaves out,
what it compresses (reproducibly), and what it tells nginx about each file."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from aurora import config
from aurora.pipeline.web import BUNDLED_LITTER, OS_LITTER, SOURCE_MAPS, plan_web
from aurora.resources import templates_dir
from tests.conftest import require_tool, tool_path
from tests.unit.conftest import MINIMAL

SCRIPT = templates_dir() / "build" / "web-layer.js"
DEFAULT = {"assets": "/static", "exclude": [*OS_LITTER, SOURCE_MAPS], "script_hashes": True}
INDEX = b'<!doctype html><html><head><title>App</title><script>window.__cfg={a:1}</script>' \
        b'<script type="application/ld+json">{"x":1}</script>' \
        b'<script defer src="/static/js/main.1a2b3c4d.js"></script></head><body>' + b"<p>hi</p>" * 50 + b"</body></html>"


def run(out: Path, options: dict | None = None) -> subprocess.CompletedProcess:
    require_tool("node")
    return subprocess.run([tool_path("node") or "node", str(SCRIPT), str(out), json.dumps(options or DEFAULT)],
                          capture_output=True, text=True, timeout=60)


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        p = root / "web" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def cra_like(root: Path) -> Path:
    return tree(root, {
        "index.html": INDEX,
        "manifest.json": b'{"name": "app", "icons": []}' * 4,
        "static/js/main.1a2b3c4d.js": b"console.log('main');" * 200,
        "static/js/main.1a2b3c4d.js.map": b'{"version":3,"sources":["src/App.jsx"]}' * 500,
        "static/js/787.8c3a1b2e.chunk.js": b"var x=1;" * 100,
        "static/css/main.7UL7NDJR.css": b"body{margin:0}" * 50,
        "static/media/logo.6ce24c58023cc2f8fd88.svg": b"<svg></svg>" * 30,
        "static/media/react.production.min.js": b"x" * 100,  # under /static but not hashed
        "static/img/photo.png": b"\x89PNG" + bytes(range(256)) * 4,
        ".DS_Store": b"\0" * 6148,
        "static/Thumbs.db": b"\0" * 100,
    })


def files_map(out: Path) -> dict[str, str]:
    text = (out / "aurora/web/files.conf").read_text()
    entries = {}
    for line in text.splitlines():
        key, value = line.rstrip(";").rsplit(" ", 1)
        entries[json.loads(key)] = value
    return entries


def test_source_maps_and_os_litter_are_left_out_and_reported(tmp_path):
    out = cra_like(tmp_path / "out")
    proc = run(out)
    assert proc.returncode == 0, proc.stderr
    web = out / "web"
    assert not (web / "static/js/main.1a2b3c4d.js.map").exists()
    assert not (web / ".DS_Store").exists() and not (web / "static/Thumbs.db").exists()
    assert (web / "static/js/main.1a2b3c4d.js").exists()
    map_size = len(b'{"version":3,"sources":["src/App.jsx"]}') * 500
    assert f"aurora-web: left out 3 files, {(6148 + 100 + map_size) / 1000:.1f} kB" in proc.stdout
    assert f"*.map 1 file {map_size / 1000:.1f} kB" in proc.stdout and ".DS_Store 1 file 6.1 kB" in proc.stdout
    assert f"aurora-web:   static/js/main.1a2b3c4d.js.map ({map_size / 1000:.1f} kB)" in proc.stdout


def test_source_maps_stay_when_asked_and_extra_patterns_apply(tmp_path):
    out = cra_like(tmp_path / "out")
    proc = run(out, {**DEFAULT, "exclude": [*OS_LITTER, "static/img/*.png", "**/*.chunk.js"]})
    assert proc.returncode == 0, proc.stderr
    web = out / "web"
    assert (web / "static/js/main.1a2b3c4d.js.map").exists()
    assert not (web / "static/img/photo.png").exists()
    assert not (web / "static/js/787.8c3a1b2e.chunk.js").exists()
    assert (web / "static/js/main.1a2b3c4d.js").exists() and (web / "index.html").exists()


def test_compressible_files_get_a_reproducible_gz(tmp_path):
    a, b = cra_like(tmp_path / "a"), cra_like(tmp_path / "b")
    assert run(a).returncode == 0 and run(b).returncode == 0
    for rel in ("index.html", "manifest.json", "static/js/main.1a2b3c4d.js", "static/css/main.7UL7NDJR.css",
                "static/media/logo.6ce24c58023cc2f8fd88.svg"):
        packed = (a / "web" / f"{rel}.gz").read_bytes()
        assert gzip.decompress(packed) == (a / "web" / rel).read_bytes()
        assert packed[4:8] == b"\0\0\0\0"  # no time in the header
        assert packed == (b / "web" / f"{rel}.gz").read_bytes(), rel
    assert not (a / "web/static/img/photo.png.gz").exists()  # not a compressible type
    assert files_map(a) == files_map(b)


def test_a_stale_gz_is_made_again_from_its_file(tmp_path):
    out = tree(tmp_path / "out", {"index.html": INDEX, "index.html.gz": gzip.compress(b"old page")})
    assert run(out).returncode == 0
    assert gzip.decompress((out / "web/index.html.gz").read_bytes()) == INDEX


def test_hashed_assets_are_immutable_others_get_a_content_etag(tmp_path):
    out = cra_like(tmp_path / "out")
    assert run(out).returncode == 0
    entries = files_map(out)
    for rel in ("static/js/main.1a2b3c4d.js", "static/js/787.8c3a1b2e.chunk.js", "static/css/main.7UL7NDJR.css",
                "static/media/logo.6ce24c58023cc2f8fd88.svg"):
        assert entries[f"/{rel}"] == "immutable", rel
    for rel in ("index.html", "manifest.json", "static/media/react.production.min.js", "static/img/photo.png"):
        data = (out / "web" / rel).read_bytes()
        assert entries[f"/{rel}"] == hashlib.sha256(data).hexdigest()[:32], rel
    assert not any(k.endswith(".gz") for k in entries)
    assert list(entries) == sorted(entries)


def test_a_content_change_at_the_same_size_changes_the_etag(tmp_path):
    a = tree(tmp_path / "a", {"index.html": INDEX})
    b = tree(tmp_path / "b", {"index.html": INDEX.replace(b"<title>App</title>", b"<title>Apq</title>")})
    assert run(a).returncode == 0 and run(b).returncode == 0
    assert (a / "web/index.html").stat().st_size == (b / "web/index.html").stat().st_size
    assert files_map(a)["/index.html"] != files_map(b)["/index.html"]


def test_hashed_only_under_the_asset_folder(tmp_path):
    out = tree(tmp_path / "out", {"index.html": INDEX, "assets/index-BQk3Tz1C.js": b"x" * 50,
                                  "static/js/main.1a2b3c4d.js": b"y" * 50})
    assert run(out, {**DEFAULT, "assets": "/assets"}).returncode == 0
    entries = files_map(out)
    assert entries["/assets/index-BQk3Tz1C.js"] == "immutable"
    assert entries["/static/js/main.1a2b3c4d.js"] != "immutable"


def test_names_nginx_could_not_key_get_no_entry(tmp_path):
    out = tree(tmp_path / "out", {"index.html": INDEX, 'odd"name.txt': b"a", "static/Logo.png": b"b",
                                  "static/logo.png": b"c", "dollar$.txt": b"d"})
    proc = run(out)
    assert proc.returncode == 0, proc.stderr
    entries = files_map(out)
    assert set(entries) == {"/index.html"}  # map keys are matched without case: neither logo
    assert "4 no-cache without one" in proc.stdout


def test_inline_scripts_are_hashed_for_the_csp(tmp_path):
    out = tree(tmp_path / "out", {"index.html": INDEX})
    proc = run(out)
    assert proc.returncode == 0
    digest = base64.b64encode(hashlib.sha256(b"window.__cfg={a:1}").digest()).decode()
    # Only the JavaScript one: a JSON-LD data block is not run.
    assert (out / "aurora/web/script-hashes.conf").read_text() == f"default \" 'sha256-{digest}'\";\n"
    assert "1 inline script in the HTML: allowed by hash" in proc.stdout


def test_own_csp_gets_a_warning_about_inline_scripts(tmp_path):
    out = tree(tmp_path / "out", {"index.html": INDEX})
    proc = run(out, {**DEFAULT, "script_hashes": False})
    assert proc.returncode == 0
    assert "warning: 1 inline script in the HTML, and [web] headers sets its own Content-Security-Policy" in proc.stdout


def test_no_index_html_is_a_clear_failure(tmp_path):
    out = tree(tmp_path / "out", {"main.js": b"x", "docs/index.html": b"y"})
    proc = run(out)
    assert proc.returncode == 1
    assert "aurora-web: error: the front end's output has no index.html at its top" in proc.stderr
    assert "frontend.output" in proc.stderr


@pytest.mark.parametrize("pattern, rel, hit", [
    ("*.map", "static/js/a.js.map", True),
    ("static/*.txt", "static/a.txt", True),
    ("static/*.txt", "static/x/a.txt", False),
    ("static/**/*.txt", "static/x/y/a.txt", True),
    ("**/*.txt", "a.txt", True),
    ("a?.js", "static/ab.js", True),
    ("[!a]*.js", "static/b.js", True),
    ("[!a]*.js", "static/a.js", False),
])
def test_exclude_pattern_semantics(tmp_path, pattern, rel, hit):
    out = tree(tmp_path / "out", {"index.html": INDEX, rel: b"x"})
    assert run(out, {**DEFAULT, "exclude": [pattern]}).returncode == 0
    assert (out / "web" / rel).exists() is not hit


def unbrotli(data: bytes) -> bytes:
    """Python's standard library has no brotli: Node's zlib decompresses."""
    proc = subprocess.run([tool_path("node") or "node", "-e",
                           "process.stdout.write(require('zlib').brotliDecompressSync(require('fs').readFileSync(0)))"],
                          input=data, capture_output=True, check=True, timeout=30)
    return proc.stdout


def test_brotli_when_asked_reproducibly_and_smaller_than_gzip(tmp_path):
    a, b = cra_like(tmp_path / "a"), cra_like(tmp_path / "b")
    pa, pb = run(a, {**DEFAULT, "brotli": True}), run(b, {**DEFAULT, "brotli": True})
    assert pa.returncode == 0 and pb.returncode == 0, pa.stderr
    for rel in ("index.html", "static/js/main.1a2b3c4d.js", "static/css/main.7UL7NDJR.css"):
        packed = (a / "web" / f"{rel}.br").read_bytes()
        assert unbrotli(packed) == (a / "web" / rel).read_bytes(), rel
        assert packed == (b / "web" / f"{rel}.br").read_bytes(), rel
        assert len(packed) <= len((a / "web" / f"{rel}.gz").read_bytes()), rel
    assert not (a / "web/static/img/photo.png.br").exists()
    assert not any(k.endswith(".br") for k in files_map(a))
    assert re.search(r"precompressed with gzip: .*, \d+ with brotli: [0-9.]+ kB -> [0-9.]+ [k ]?B", pa.stdout), pa.stdout


def test_no_brotli_unless_asked(tmp_path):
    out = cra_like(tmp_path / "out")
    proc = run(out)
    assert proc.returncode == 0 and "brotli" not in proc.stdout
    assert not list((out / "web").glob("**/*.br"))


def test_a_stale_br_is_made_again_and_one_beside_an_uncompressed_file_goes(tmp_path):
    out = tree(tmp_path / "out", {"index.html": INDEX, "index.html.br": b"old", "photo.png": b"\x89PNG",
                                  "photo.png.br": b"old", "photo.png.gz": b"old"})
    assert run(out, {**DEFAULT, "brotli": True}).returncode == 0
    assert unbrotli((out / "web/index.html.br").read_bytes()) == INDEX
    assert not (out / "web/photo.png.br").exists() and not (out / "web/photo.png.gz").exists()


def test_os_litter_renamed_by_the_bundler_is_left_out_too(tmp_path):
    """An app that imports a folder with a Thumbs.db gets it back as static/media/Thumbs.<hash>.db
    (webpack's [name].[hash][ext]) or assets/Thumbs-<hash>.db (Vite)."""
    out = tree(tmp_path / "out", {
        "index.html": INDEX,
        "static/media/Thumbs.5c1f0e7a8d3b2c4e6f90.db": b"\0" * 100,
        "static/media/.DS_Store.0a1b2c3d": b"\0" * 60,
        "assets/Thumbs-D4xQ9aZk.db": b"\0" * 50,
        "static/media/desktop.1a2b3c4d.ini": b"[x]",
        "static/media/thumbs.png": b"\x89PNG keep",
        "static/media/Thumbsup.1a2b3c4d.svg": b"<svg/>",
    })
    options = {**DEFAULT, "exclude": [*OS_LITTER, *BUNDLED_LITTER, SOURCE_MAPS]}
    proc = run(out, options)
    assert proc.returncode == 0, proc.stderr
    kept = sorted(p.relative_to(out / "web").as_posix() for p in (out / "web").rglob("*")
                  if p.is_file() and not p.name.endswith((".gz", ".br")))
    assert kept == ["index.html", "static/media/Thumbsup.1a2b3c4d.svg", "static/media/thumbs.png"]
    assert "aurora-web: left out 4 files" in proc.stdout
    assert set(BUNDLED_LITTER) <= set(plan_web(config.parse(MINIMAL, Path("aurora.toml"))).exclude)
