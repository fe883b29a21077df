"""Tests for emotion.training.download against a local HTTP server on 127.0.0.1 (never Zenodo)."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import threading
import time
import wave
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support import free_port

from emotion.training import download as dl
from emotion.training.download import DownloadError, RemoteFile

WAV_NAME = "Actor_01/03-01-01-01-01-01-01.wav"
ZIP_NAME = "Audio_Speech_Actors_01-24.zip"


def make_wav(seconds: float = 0.1, sr: int = 16000) -> bytes:
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / sr))) for i in range(int(seconds * sr))
    )
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(frames)
    return buf.getvalue()


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


class Server:
    """Serves in-memory files by name; records every request's path and Range header."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                data = server.files.get(self.path.split("?")[0].rsplit("/", 1)[-1])
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def wav_bytes():
    return make_wav()


@pytest.fixture
def archive(server, wav_bytes):
    """Put a small speech zip on the server; return (zip bytes, file table)."""
    data = make_zip({WAV_NAME: wav_bytes, "Actor_01/readme.txt": b"hello"})
    server.files[ZIP_NAME] = data
    table = (RemoteFile(ZIP_NAME, len(data), hashlib.md5(data).hexdigest(), "speech"),)
    return data, table


def test_fresh_download(tmp_path, server, archive, wav_bytes):
    data, table = archive
    dest = tmp_path / "data"
    folders = dl.download(dest, table, server.url, progress=False, timeout=5)
    assert folders == [dest / "speech"]
    assert dl.md5sum(dest / ZIP_NAME) == hashlib.md5(data).hexdigest()
    assert not (dest / (ZIP_NAME + ".part")).exists()
    assert (dest / "speech" / WAV_NAME).read_bytes() == wav_bytes
    assert server.requests[0][0].endswith(ZIP_NAME + "?download=1")


def test_resume_sends_range(tmp_path, server, archive):
    data, table = archive
    dest = tmp_path / "data"
    dest.mkdir()
    half = len(data) // 2
    (dest / (ZIP_NAME + ".part")).write_bytes(data[:half])
    dl.download(dest, table, server.url, progress=False, timeout=5)
    assert server.requests == [(server.requests[0][0], f"bytes={half}-")]
    assert (dest / ZIP_NAME).read_bytes() == data


def test_wrong_md5_raises_and_cleans_up(tmp_path, server, archive):
    data, table = archive
    bad = (table[0]._replace(md5="0" * 32),)
    dest = tmp_path / "data"
    with pytest.raises(DownloadError, match="re-run|Re-run"):
        dl.download(dest, bad, server.url, progress=False, timeout=5)
    assert not (dest / ZIP_NAME).exists()
    assert not (dest / (ZIP_NAME + ".part")).exists()
    assert not (dest / "speech").exists()


def test_unreachable_server(tmp_path, archive):
    _, table = archive
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match="resume"):
        dl.download(tmp_path / "data", table, f"http://127.0.0.1:{free_port()}/files/", progress=False, timeout=1)
    assert time.monotonic() - t0 < 10


def test_zip_slip_refused(tmp_path, server, wav_bytes):
    data = make_zip({WAV_NAME: wav_bytes, "../evil.txt": b"x", "../../evil.txt": b"x"})
    server.files[ZIP_NAME] = data
    table = (RemoteFile(ZIP_NAME, len(data), hashlib.md5(data).hexdigest(), "speech"),)
    dest = tmp_path / "data"
    with pytest.raises(DownloadError, match="unsafe"):
        dl.download(dest, table, server.url, progress=False, timeout=5)
    assert list(tmp_path.rglob("evil.txt")) == []
    assert not (dest / "speech" / WAV_NAME).exists()


def test_main_error_exit(tmp_path, capsys, monkeypatch, archive):
    _, table = archive
    monkeypatch.setattr(dl, "FILES", table)
    url = f"http://127.0.0.1:{free_port()}/files"
    rc = dl.main(["--dest", str(tmp_path / "data"), "--base-url", url, "--no-progress"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_main_success(tmp_path, capsys, monkeypatch, server, archive):
    _, table = archive
    monkeypatch.setattr(dl, "FILES", table)
    dest = tmp_path / "data"
    assert dl.main(["--dest", str(dest), "--base-url", server.url, "--only", "speech", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert str(dest / "speech") in out and "python -m emotion.training.train --data-dir" in out


def test_second_run_skips_download(tmp_path, server, archive):
    _, table = archive
    dest = tmp_path / "data"
    dl.download(dest, table, server.url, progress=False, timeout=5)
    assert len(server.requests) == 1
    wav = dest / "speech" / WAV_NAME
    mtime = wav.stat().st_mtime_ns
    assert dl.download(dest, table, server.url, progress=False, timeout=5) == [dest / "speech"]
    assert len(server.requests) == 1
    assert wav.stat().st_mtime_ns == mtime
