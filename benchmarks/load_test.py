"""Many users at once: concurrent gradio_client clients against `python app.py` on loopback.

    python benchmarks/load_test.py [--clients 16] [--requests 25] [--timeout 900] [--checkpoint P]

Starts the app in a subprocess (GRADIO_SERVER_PORT = a free port on 127.0.0.1, its own
GRADIO_TEMP_DIR, OMP_NUM_THREADS=--server-threads), warms it up with one request per clip from
a single client (that answer is each clip's reference), measures the server's resident memory,
then runs --clients concurrent clients (one gradio_client.Client each) sending --requests
/predict requests each, cycling through the real clips in assets/examples/*.wav and
assets/ravdess/*.flac. Every request has to finish before the overall --timeout; the script
then stops the server and removes its temporary folder by itself.

The RSS criterion is sensitive to glibc's per-thread malloc arenas (up to 8 per core): with
16 concurrent clients the server's RSS grows by ~100-170 MB in the first requests and then
stays flat; --malloc-arena-max 2 (MALLOC_ARENA_MAX=2 for the server) keeps it to ~20 MB.

Prints failures, whether every answer equals the single-user answer for that clip (same label
and confidences within 1e-6), latency p50/p95/p99, requests per second, and the server's RSS
after warm-up and after the run. Exits 1 if any request failed or differed, or if the RSS grew
by 100 MB or more.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import psutil
from common import free_port, machine

ROOT = Path(__file__).resolve().parent.parent
CLIPS = sorted((ROOT / "assets" / "examples").glob("*.wav")) + sorted((ROOT / "assets" / "ravdess").glob("*.flac"))
MAX_RSS_GROWTH_MB = 100.0
TOLERANCE = 1e-6


def start_server(checkpoint, threads: int, temp_dir: Path, log: Path, wait_s: float = 180, arenas: int = 0):
    port = free_port()
    env = dict(
        os.environ,
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_TEMP_DIR=str(temp_dir),
        GRADIO_ANALYTICS_ENABLED="False",
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
    )
    if arenas:
        env["MALLOC_ARENA_MAX"] = str(arenas)
    if checkpoint:
        env["EMOTION_CHECKPOINT"] = str(Path(checkpoint).resolve())
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")], cwd=temp_dir, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + wait_s
    while True:
        try:
            with urllib.request.urlopen(url + "config", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                stop_server(proc)
                raise SystemExit(f"app.py did not start on {url}:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)


def stop_server(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def rss_mb(pid: int) -> float:
    p = psutil.Process(pid)
    return (p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))) / 2**20


def label_of(result) -> dict:
    """The Label output: {'label': top, 'confidences': {label: p}} (top 3 as the app sends them)."""
    label = result[0]
    return dict(label=label["label"], confidences={c["label"]: c["confidence"] for c in label["confidences"]})


def same(a: dict, b: dict) -> bool:
    return (
        a["label"] == b["label"]
        and set(a["confidences"]) == set(b["confidences"])
        and all(abs(a["confidences"][k] - b["confidences"][k]) <= TOLERANCE for k in a["confidences"])
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=25, help="requests per client")
    ap.add_argument("--timeout", type=float, default=900.0, help="overall limit for the concurrent phase (s)")
    ap.add_argument("--checkpoint", default=None, help="default: $EMOTION_CHECKPOINT or checkpoints/emotion.pt")
    ap.add_argument(
        "--server-threads", type=int, default=1, help="OMP_NUM_THREADS of the server (1: polite on a shared machine)"
    )
    ap.add_argument(
        "--malloc-arena-max",
        type=int,
        default=0,
        help="MALLOC_ARENA_MAX for the server (glibc; 0: leave the default, 8 per core)",
    )
    args = ap.parse_args(argv)

    from gradio_client import Client, handle_file

    print(f"load test · {machine()}")
    temp_dir = Path(tempfile.mkdtemp(prefix="emotion_load_"))
    proc = None
    try:
        t0 = time.perf_counter()
        proc, url = start_server(
            args.checkpoint, args.server_threads, temp_dir, temp_dir / "app.log", arenas=args.malloc_arena_max
        )
        print(
            f"server pid {proc.pid} on {url} (started in {time.perf_counter() - t0:.1f} s, "
            f"OMP_NUM_THREADS={args.server_threads}"
            f"{f', MALLOC_ARENA_MAX={args.malloc_arena_max}' if args.malloc_arena_max else ''}); {len(CLIPS)} clips"
        )

        # warm-up, single user: each clip's reference answer
        single = Client(url, verbose=False)
        reference, warm_latency = {}, []
        for clip in CLIPS:
            t = time.perf_counter()
            reference[clip] = label_of(single.predict(handle_file(str(clip)), api_name="/predict"))
            warm_latency.append(time.perf_counter() - t)
        rss_warm = rss_mb(proc.pid)
        cpu_warm = sum(psutil.Process(proc.pid).cpu_times()[:2])

        # many users
        deadline = time.monotonic() + args.timeout
        lock = threading.Lock()
        records = []  # (clip, latency s or None, error or None, same-as-reference)
        expected = args.clients * args.requests
        marks = [round(expected * q) for q in (0.25, 0.5, 0.75)]
        rss_samples = []  # server RSS when a quarter, half, three quarters of the requests are done

        def user(k: int):
            client = Client(url, verbose=False)
            for i in range(args.requests):
                clip = CLIPS[(k * 7 + i) % len(CLIPS)]  # clients start at different clips
                left = deadline - time.monotonic()
                if left <= 0:
                    with lock:
                        records.append((clip, None, "not sent before the overall timeout", False))
                    continue
                t = time.perf_counter()
                try:
                    job = client.submit(handle_file(str(clip)), api_name="/predict")
                    answer = label_of(job.result(timeout=left))
                    rec = (clip, time.perf_counter() - t, None, same(answer, reference[clip]))
                except Exception as exc:  # a failed request is counted, never raised
                    rec = (clip, None, f"{type(exc).__name__}: {str(exc)[:200]}", False)
                with lock:
                    records.append(rec)
                    if len(records) in marks:
                        rss_samples.append(rss_mb(proc.pid))

        t_start = time.perf_counter()
        # daemon threads: a client stuck past the deadline cannot keep this script alive
        threads = [threading.Thread(target=user, args=(k,), daemon=True) for k in range(args.clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=max(1.0, deadline - time.monotonic() + 60))
        wall = time.perf_counter() - t_start
        rss_after = rss_mb(proc.pid)
        cpu_used = sum(psutil.Process(proc.pid).cpu_times()[:2]) - cpu_warm
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(temp_dir, ignore_errors=True)

    with lock:
        records = list(records)  # clients still running past the deadline count as failures
    ok = [r for r in records if r[2] is None]
    failures = [r for r in records if r[2] is not None] + [None] * (expected - len(records))
    differing = [r for r in ok if not r[3]]
    lat = np.array([r[1] for r in ok]) * 1000 if ok else np.array([np.nan])
    growth = rss_after - rss_warm
    checks = {
        "no failures": not failures,
        "every answer equals the single-user answer": not differing and bool(ok),
        f"RSS growth < {MAX_RSS_GROWTH_MB:g} MB": growth < MAX_RSS_GROWTH_MB,
    }
    rows = [
        ("clients x requests", f"{args.clients} x {args.requests} = {expected}"),
        ("failures", f"{len(failures)}"),
        ("answers equal to single-user", f"{len(ok) - len(differing)}/{len(ok)}"),
        ("single-user latency p50 (warm-up)", f"{np.median(warm_latency) * 1000:.0f} ms"),
        ("latency p50 / p95 / p99", " / ".join(f"{np.percentile(lat, q):.0f}" for q in (50, 95, 99)) + " ms"),
        ("latency max", f"{np.max(lat):.0f} ms"),
        ("throughput", f"{len(ok) / wall:.2f} requests/s over {wall:.1f} s"),
        ("server CPU per request", f"{cpu_used / max(1, len(ok)) * 1000:.0f} ms"),
        ("server RSS after warm-up", f"{rss_warm:.0f} MB"),
        ("server RSS after 1/4, 1/2, 3/4 of the run", " / ".join(f"{r:.0f}" for r in rss_samples) + " MB"),
        ("server RSS after the run", f"{rss_after:.0f} MB (growth {growth:+.0f} MB)"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    for r in failures[:5]:
        print(f"  failure: {r[0].name}: {r[2]}" if r else "  failure: request never finished")
    for r in differing[:5]:
        print(f"  differs from single-user answer: {r[0].name}")
    for name, passed in checks.items():
        print(f"  [{'PASS' if passed else 'FAIL'}] {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # do not wait for gradio_client threads that may still be open
