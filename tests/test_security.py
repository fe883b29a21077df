"""Security: checkpoint integrity, what the served app can be made to read, and its temporary files.

* Checkpoints: Predictor.from_checkpoint checks the SHA256SUMS manifest beside the file
  (emotion.model.checkpoint.verify_checksum) and loads with weights_only=True (no code in a pickle runs).
  The shipped checkpoints/emotion.pt must match checkpoints/SHA256SUMS (skipped while absent).
* Files: `python app.py` runs in a subprocess on a free loopback port with GRADIO_TEMP_DIR set to
  a temporary folder. Every event handler of the app (each dependency in /config, by fn_index,
  whatever its API visibility, plus the named endpoints by name) is sent crafted inputs: `../`
  paths, absolute paths (/etc/passwd, the checkpoint, app.py), symlinks to /etc/passwd in a temp
  folder and in the upload folder, as file paths and as clip ids. Direct GETs of /gradio_api/file=...
  and /file=... try the same. Nothing may return the content of those files; only assets/ (and a
  configured dataset folder) are served.
* Temporary files: each upload leaves one file in GRADIO_TEMP_DIR and nothing else; the app
  sets gr.Blocks(delete_cache=...) so uploads are deleted (periodically, and at shutdown), and
  serves the bundled clips in place (gr.set_static_paths) so a purge cannot break the examples.

    EMOTION_CHECKPOINT=/tmp/devckpt/emotion.pt python -m pytest -q tests/test_security.py
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from support import free_port

from emotion.model.checkpoint import MANIFEST, default_path, sha256
from emotion.predictor import CheckpointError, Predictor

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT = default_path()
SHIPPED = ROOT / "checkpoints" / "emotion.pt"
ASSETS = ROOT / "assets"
EXAMPLE_CLIP = ASSETS / "examples" / "03-01-05-02-01-01-05.wav"

pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")


# ===== checkpoint integrity ======================================================================


def _manifest(folder: Path, entries: dict):
    (folder / MANIFEST).write_text("".join(f"{digest}  {name}\n" for name, digest in entries.items()))


@pytest.fixture
def ckpt_copy(tiny_checkpoint_path, tmp_path) -> Path:
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    path = folder / "emotion.pt"
    shutil.copy(tiny_checkpoint_path, path)
    return path


def test_intact_checkpoint_with_manifest_loads(ckpt_copy):
    # as `sha256sum checkpoints/*` writes it from the repository root, with a binary-mode '*'
    (ckpt_copy.parent / MANIFEST).write_text(
        f"{sha256(ckpt_copy)} *checkpoints/{ckpt_copy.name}\n{'0' * 64}  checkpoints/metrics.json\nnot a line\n"
    )
    assert Predictor.from_checkpoint(ckpt_copy).models


def test_tampered_checkpoint_is_refused(ckpt_copy):
    _manifest(ckpt_copy.parent, {ckpt_copy.name: sha256(ckpt_copy)})
    # a perfectly loadable checkpoint whose weights were changed: only the manifest can tell
    state = torch.load(ckpt_copy, map_location="cpu", weights_only=True)
    first = next(iter(state["models"][0]))
    state["models"][0][first] = state["models"][0][first] + 0.01
    torch.save(state, ckpt_copy)
    assert Predictor(torch.load(ckpt_copy, map_location="cpu", weights_only=True)).models  # loads without a check
    with pytest.raises(CheckpointError) as info:
        Predictor.from_checkpoint(ckpt_copy)
    message = str(info.value)
    assert "does not match its SHA-256" in message and str(ckpt_copy.parent / MANIFEST) in message
    assert "altered" in message and "git checkout" in message  # says what happened and what to do


@pytest.mark.parametrize("damage", ["one byte flipped", "truncated"])
def test_damaged_checkpoint_is_refused(ckpt_copy, damage):
    _manifest(ckpt_copy.parent, {ckpt_copy.name: sha256(ckpt_copy)})
    data = bytearray(ckpt_copy.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    ckpt_copy.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its SHA-256"):
        Predictor.from_checkpoint(ckpt_copy)


def test_checkpoint_pickle_cannot_run_code(tmp_path):
    """weights_only=True: a checkpoint that would run code when unpickled is refused, the code never runs."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return pathlib.Path.touch, (marker,)

    path = tmp_path / "evil.pt"
    torch.save({"format_version": 1, "models": [Payload()]}, path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        Predictor.from_checkpoint(path)
    assert not marker.exists()


def test_shipped_checkpoint_matches_manifest():
    manifest = SHIPPED.with_name(MANIFEST)
    if not SHIPPED.is_file() or not manifest.is_file():
        pytest.skip(f"{SHIPPED} or {manifest} not there yet")
    listed = {}
    for line in manifest.read_text().splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2:
            listed[Path(parts[1].strip().lstrip("*")).name] = parts[0]
    assert SHIPPED.name in listed, f"{manifest} does not list {SHIPPED.name}"
    for name, digest in listed.items():  # sha256sum -c: every listed file beside it
        path = SHIPPED.with_name(name)
        assert path.is_file(), f"{manifest} lists {name}, which is missing"
        assert sha256(path) == digest.lower(), f"{path} does not match {manifest}"
    Predictor.from_checkpoint(SHIPPED)  # and the loader's own check agrees


# ===== the served app ===========================================================================


def test_app_never_shares():
    source = (ROOT / "app.py").read_text()
    assert not re.search(r"share\s*=\s*True", source)
    assert not re.search(r"server_name\s*=\s*['\"]0\.0\.0\.0", source)  # loopback unless the env says otherwise


def _default_sigint() -> None:
    """In the child before exec: SIGINT handled by default and not blocked (both are inherited)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])


class Server:
    """`python app.py` in a subprocess, on 127.0.0.1, with its own GRADIO_TEMP_DIR."""

    def __init__(self, folder: Path):
        self.temp_dir = folder / "gradio_tmp"
        self.temp_dir.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = folder / "app.log"
        env = dict(
            os.environ,
            EMOTION_CHECKPOINT=str(CHECKPOINT),
            GRADIO_TEMP_DIR=str(self.temp_dir),
            GRADIO_SERVER_NAME="127.0.0.1",
            GRADIO_SERVER_PORT=str(self.port),
            GRADIO_ANALYTICS_ENABLED="False",
            PYTHONUNBUFFERED="1",
            OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
        )
        # SIGINT back to its default in the child: a process that inherits it ignored (as pytest's
        # does after Ray has run in it) never turns Ctrl+C into Gradio's clean shutdown
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=folder,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            preexec_fn=_default_sigint,
        )
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(self.url + "config", timeout=2) as r:
                    self.config = json.loads(r.read())
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise AssertionError(f"app.py did not serve on {self.url}:\n{self.output()[-3000:]}")
                time.sleep(0.5)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self):
        """Graceful stop, as Ctrl+C: Gradio runs its shutdown (and cache clean-up) on SIGINT."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _serve(tmp_path_factory, name: str):
    """A Server in its own temporary folder, stopped after the module."""
    if not CHECKPOINT.is_file():
        pytest.skip(f"no checkpoint at {CHECKPOINT}: train one or set EMOTION_CHECKPOINT")
    srv = Server(tmp_path_factory.mktemp(name))
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from _serve(tmp_path_factory, "served")


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


# ----- what must never come back ------------------------------------------------------------------


def _data_dir():
    from emotion.evaluation.clips import configured_data_dir

    return configured_data_dir()


@pytest.fixture(scope="module")
def secrets(server):
    """{name: (server-side path, markers whose presence in a response means the file leaked)}."""
    out = {}
    passwd = Path("/etc/passwd")
    if passwd.is_file() and passwd.read_text().startswith("root:"):
        out["/etc/passwd"] = (str(passwd), [passwd.read_text().splitlines()[0]])
    app_text = (ROOT / "app.py").read_text()
    app_markers = [app_text.splitlines()[0], "DEFAULT_CONCURRENCY_LIMIT =", "def clear_analysis():"]
    out["app.py"] = (str(ROOT / "app.py"), app_markers)
    # a torch checkpoint is a zip: its entry names stand in its first bytes
    out["checkpoint"] = (str(CHECKPOINT), zipfile.ZipFile(CHECKPOINT).namelist()[:3])
    if SHIPPED.is_file() and SHIPPED.resolve() != CHECKPOINT:
        out["shipped checkpoint"] = (str(SHIPPED), zipfile.ZipFile(SHIPPED).namelist()[:3])
    assert "/etc/passwd" in out or sys.platform != "linux"
    return out


@pytest.fixture(scope="module")
def crafted_paths(server, secrets, tmp_path_factory):
    """Server-side paths that point at the secret files in as many ways as we can think of."""
    d = tmp_path_factory.mktemp("crafted")
    up = server.temp_dir / ("0" * 64)  # looks like an upload folder of Gradio's
    up.mkdir()
    paths = {}
    for name, (target, _) in secrets.items():
        rel = os.path.relpath(target, ROOT / "assets")
        paths[name] = target
        paths[f"{name} via ../"] = "../" * 12 + target.lstrip("/")
        paths[f"{name} via assets/.."] = str(ROOT / "assets") + "/" + rel
        link = d / f"{name.replace('/', '_')}.wav"
        link.symlink_to(target)
        paths[f"{name} symlink in temp dir"] = str(link)
        up_link = up / link.name
        up_link.symlink_to(target)
        paths[f"{name} symlink in upload dir"] = str(up_link)
    paths["file:// URL"] = "file:///etc/passwd"
    return paths


def assert_no_leak(text: str, secrets, what: str):
    for name, (_, markers) in secrets.items():
        for marker in markers:
            assert marker not in text, f"{what} returned the content of {name} ({marker!r})"


def http_get(url: str, raw_path: str):
    """GET with the path sent exactly as written (no client-side normalisation)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read().decode("latin-1")
    finally:
        conn.close()


def fetch_file_urls(server, text: str, secrets, what: str):
    """GET every file URL a response mentions and check what comes back."""
    for url in set(re.findall(r'"url":\s*"([^"]+)"', text)):
        if not url.startswith("http"):
            url = server.url.rstrip("/") + "/" + url.lstrip("/")
        if urllib.parse.urlsplit(url).hostname != "127.0.0.1":
            continue
        status, body = http_get(url, urllib.parse.urlsplit(url).path)
        assert_no_leak(body, secrets, f"{what} -> GET {url}")


def queue_call(server, fn_index: int, data: list, event_data=None) -> str:
    """One call through the queue, as the browser makes it; the whole event stream as text."""
    session = uuid.uuid4().hex[:12]
    body = json.dumps(
        dict(data=data, fn_index=fn_index, session_hash=session, event_data=event_data, trigger_id=None)
    ).encode()
    request = urllib.request.Request(server.url + "gradio_api/queue/join", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            joined = r.read().decode()
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.read().decode(errors='replace')}"
    with urllib.request.urlopen(server.url + f"gradio_api/queue/data?session_hash={session}", timeout=120) as r:
        return joined + r.read().decode(errors="replace")


def direct_call(server, fn_index: int, data: list, event_data=None) -> str:
    """One call past the queue (POST /gradio_api/run/predict with an fn_index)."""
    body = json.dumps(
        dict(data=data, fn_index=fn_index, session_hash=uuid.uuid4().hex[:12], event_data=event_data)
    ).encode()
    request = urllib.request.Request(server.url + "gradio_api/run/predict", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.read().decode(errors='replace')}"


def crafted_inputs(component_type: str, path: str) -> list:
    """Values to send to an input component of this type that try to name `path`."""
    if component_type in ("audio", "file", "image", "video", "model3d", "uploadbutton"):
        return [
            dict(path=path, meta={"_type": "gradio.FileData"}),
            dict(path=path, orig_name="speech.wav", url=f"/gradio_api/file={path}", meta={"_type": "gradio.FileData"}),
        ]
    if component_type == "dataset":
        return [path, 10**6, -1]
    return [path]


def test_leak_checks_can_fail(server, secrets):
    """Controls: the markers are in the secret files, and the calls below reach the handlers."""
    for name, (path, markers) in secrets.items():
        with pytest.raises(AssertionError):
            assert_no_leak(Path(path).read_bytes().decode("latin-1"), secrets, name)
    example = next(d["id"] for d in server.config["dependencies"] if d.get("api_name") == "example")
    from emotion.evaluation.clips import DEFAULT_EXAMPLES_DIR

    clip = sorted(DEFAULT_EXAMPLES_DIR.glob("*.flac"))[0]
    text = queue_call(server, example, [clip.stem])
    assert "True emotion" in text and '"success":true' in text.replace(" ", "")
    urls = re.findall(r'"url":\s*"([^"]+)"', text)
    assert urls and http_get(server.url, urllib.parse.urlsplit(urls[0]).path)[0] == 200


def test_every_handler_refuses_crafted_paths(server, secrets, crafted_paths):
    components = {c["id"]: c["type"] for c in server.config["components"]}
    dependencies = server.config["dependencies"]
    assert len(dependencies) >= 3
    calls = 0
    for dep in dependencies:
        fn_index = dep["id"]
        types = [components[i] for i in dep["inputs"]]
        for name, path in crafted_paths.items():
            if types:
                variants = [crafted_inputs(t, path) for t in types]
                datas = [[v[min(k, len(v) - 1)] for v in variants] for k in range(max(map(len, variants)))]
            else:
                datas = [[]]
            # a table click (SelectData) naming the path too, for handlers that read event data
            event = dict(index=[0, 0], value=path, row_value=[path], selected=True)
            for data in datas:
                what = f"fn {fn_index} ({dep.get('api_name')}) with {name}"
                for call in (queue_call, direct_call):
                    text = call(server, fn_index, data, event)
                    calls += 1
                    assert_no_leak(text, secrets, what)
                    fetch_file_urls(server, text, secrets, what)
            if not types:
                break  # a handler without inputs: one call is enough
    assert calls > 50
    assert "Traceback" not in urllib.request.urlopen(server.url + "config").read().decode()


def test_named_endpoints_via_gradio_client(server, client, secrets, crafted_paths):
    from gradio_client import handle_file

    api = client.view_api(return_format="dict", print_info=False)
    named = api["named_endpoints"]
    assert {"/predict", "/example"} <= set(named)
    for endpoint, info in named.items():
        params = info["parameters"]
        for name, path in crafted_paths.items():
            if not params:
                args = []
            elif "FileData" in json.dumps(params[0].get("type", {})):
                if not Path(path).exists():
                    continue
                args = [handle_file(path)]  # the client uploads what the path holds on its side
            else:
                args = [path] * len(params)
            try:
                result = client.predict(*args, api_name=endpoint)
                text = json.dumps(result, default=str)
            except Exception as exc:  # refusals come back as exceptions
                text = str(exc)
            assert_no_leak(text, secrets, f"{endpoint} with {name}")
            fetch_file_urls(server, text, secrets, f"{endpoint} with {name}")
            if not params:
                break


def test_direct_file_urls_serve_nothing_outside_assets(server, secrets, crafted_paths):
    tried = 0
    for name, path in crafted_paths.items():
        quoted = urllib.parse.quote(path, safe="")
        for raw in (
            f"/gradio_api/file={path}",
            f"/gradio_api/file={quoted}",
            f"/file={path}",
            f"/gradio_api/file/{path.lstrip('/')}",
            f"/gradio_api/file=/{path}",
            f"/gradio_api/file={path.replace('/', '%2F')}",
        ):
            status, body = http_get(server.url, raw.replace(" ", "%20"))
            tried += 1
            assert_no_leak(body, secrets, f"GET {raw}")
            assert status != 200 or not any(m in body for _, ms in secrets.values() for m in ms)
    assert tried > 30


def test_only_assets_and_dataset_are_served(server):
    """The allowed paths of the launched app, seen from outside: assets/ and the model card (the
    footer links it) yes, the rest of the repo no."""
    readme = ASSETS / "README.md"
    status, body = http_get(server.url, f"/gradio_api/file={readme}")
    assert status == 200 and body == readme.read_bytes().decode("latin-1")
    status, _ = http_get(server.url, f"/gradio_api/file={EXAMPLE_CLIP}")
    assert status == 200
    status, body = http_get(server.url, f"/gradio_api/file={ROOT / 'MODEL_CARD.md'}")
    assert status == 200 and "## Intended use" in body
    data_dir = _data_dir()
    refused = []
    entries = sorted(ROOT.iterdir()) + sorted((ROOT.parent / "shared").glob("*"))
    for entry in entries:  # one file from every other top-level entry of the repo (and of ../shared)
        if entry.name in ("assets", ".git", "MODEL_CARD.md"):
            continue
        first = entry if entry.is_file() else next((p for p in entry.rglob("*") if p.is_file()), None)
        for f in [first] if first else []:
            if data_dir and str(f.resolve()).startswith(str(data_dir)):
                continue
            status, body = http_get(server.url, f"/gradio_api/file={f}")
            assert status in (403, 404), f"{f} is served ({status})"
            refused.append(f.name)
    assert "app.py" in refused and len(refused) >= 5
    assert "public URL" not in server.output()  # no share link, whatever the environment says


# ----- temporary files ---------------------------------------------------------------------------
# A server of their own, driven with plain HTTP calls that close when answered: a connected
# gradio_client (or browser tab) keeps its heartbeat stream open, and then Gradio's shutdown gives
# up after 5 s (http_server.Server.close joins the server thread with timeout=5) before its
# clean-up runs.

N_UPLOADS = 6


def _files(folder: Path) -> list:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _copies_of_assets(files) -> list:
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in ASSETS.rglob("*") if p.is_file()}
    return [p for p in files if hashlib.sha256(p.read_bytes()).hexdigest() in digests]


def _fn(server, api_name: str) -> int:
    return next(d["id"] for d in server.config["dependencies"] if d.get("api_name") == api_name)


def _examples_fn(server) -> int:
    """The gr.Examples loader: the handler whose input is the examples' dataset component."""
    types = {c["id"]: c["type"] for c in server.config["components"]}
    return next(d["id"] for d in server.config["dependencies"] if [types[i] for i in d["inputs"]] == ["dataset"])


def upload(server, path: Path) -> str:
    """POST /gradio_api/upload as the browser does; the server-side path of the upload."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{path.name}"\r\n'
            f"Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        server.url + "gradio_api/upload",
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=60) as r:
        return json.loads(r.read())[0]


def file_data(path: str, name: str) -> dict:
    return dict(path=path, orig_name=name, meta={"_type": "gradio.FileData"})


def succeeded(text: str) -> bool:
    return '"msg":"process_completed"' in text.replace(" ", "") and '"success":true' in text.replace(" ", "")


@pytest.fixture(scope="module")
def quiet_server(tmp_path_factory):
    yield from _serve(tmp_path_factory, "temp_files")


@pytest.fixture(scope="module")
def after_batch(quiet_server):
    """N distinct uploads predicted and a few bundled clips shown: the temp folder before and after."""
    server = quiet_server
    before = _files(server.temp_dir)
    x, sr = sf.read(EXAMPLE_CLIP, dtype="float32")
    folder = server.temp_dir.parent / "uploads"
    folder.mkdir()
    predict = _fn(server, "predict")
    for i in range(N_UPLOADS):
        path = folder / f"upload_{i}.wav"
        sf.write(path, x + np.random.default_rng(i).normal(0, 1e-4, len(x)).astype(np.float32), sr)
        assert succeeded(queue_call(server, predict, [file_data(upload(server, path), path.name)]))
    if _data_dir() is None:
        from emotion.evaluation.clips import DEFAULT_EXAMPLES_DIR

        for clip in sorted(DEFAULT_EXAMPLES_DIR.glob("*.flac"))[:3]:
            assert succeeded(queue_call(server, _fn(server, "example"), [clip.stem]))
    return before, _files(server.temp_dir)


def test_each_upload_leaves_one_file_and_nothing_else(after_batch):
    """What a request leaves in GRADIO_TEMP_DIR: the uploaded file itself (plots go out inline)."""
    before, after = after_batch
    new = [p for p in after if p not in set(before)]
    copies = set(_copies_of_assets(new))
    assert sorted(p.name for p in new if p not in copies) == sorted(f"upload_{i}.wav" for i in range(N_UPLOADS))
    uploads = [p for p in new if p.name.startswith("upload_")]
    assert sum(p.stat().st_size for p in uploads) < N_UPLOADS * 2 * EXAMPLE_CLIP.stat().st_size


def test_cache_is_purged_periodically():
    """gr.Blocks(delete_cache=(frequency, age)): uploads older than `age` go every `frequency` s,
    so the folder holds at most about (frequency + age) worth of uploads."""
    if not CHECKPOINT.is_file():
        pytest.skip(f"no checkpoint at {CHECKPOINT}")
    os.environ.setdefault("EMOTION_CHECKPOINT", str(CHECKPOINT))
    import app

    assert app.demo.delete_cache, "gr.Blocks(delete_cache=...) is not set: uploads are never deleted"
    frequency, age = app.demo.delete_cache
    assert 0 < frequency <= 3600 and 0 < age <= 24 * 3600


def test_bundled_clips_are_served_in_place(after_batch):
    """gr.set_static_paths(ALLOWED_PATHS): Gradio serves the bundled clips (gr.Examples, the
    /example output) where they are instead of copying them into GRADIO_TEMP_DIR."""
    _, after = after_batch
    copies = _copies_of_assets(after)
    assert not copies, f"copies of bundled clips in the upload cache: {[p.name for p in copies]}"


def test_examples_survive_a_cache_purge(quiet_server, after_batch):
    """What delete_cache does to the files it created once they are older than `age`, done now:
    copies of the example clips would go while gr.Examples keeps pointing at them."""
    server = quiet_server
    for p in _copies_of_assets(_files(server.temp_dir)):
        p.unlink()
    text = queue_call(server, _examples_fn(server), [0])  # a click on the first example
    assert succeeded(text), text[-500:]
    path = re.search(r'"path":\s*"([^"]+)"', text).group(1)
    status, _ = http_get(server.url, f"/gradio_api/file={path}")
    assert status == 200, f"the first example ({path}) is gone from the server: HTTP {status}"
    answer = queue_call(server, _fn(server, "predict"), [file_data(path, Path(path).name)])
    assert succeeded(answer), f"analysing the first example fails: {answer[-300:]}"


def test_uploads_are_deleted_at_shutdown(quiet_server, after_batch):
    """delete_cache also deletes everything the app created when the server stops (Ctrl+C)."""
    t = time.time()
    quiet_server.stop()
    assert quiet_server.proc.returncode is not None
    left = [p.name for p in _files(quiet_server.temp_dir) if p.name.startswith("upload_")]
    assert not left, (
        f"{len(left)} uploads left in {quiet_server.temp_dir} after a {time.time() - t:.1f}-s shutdown "
        f"(exit {quiet_server.proc.returncode}); the app said:\n{quiet_server.output()[-2000:]}"
    )
