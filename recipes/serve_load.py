"""Load test of ``llmner serve``: concurrent clients against offline ``predict``.

    python recipes/serve_load.py --adapter RUN_DIR --input test.txt --clients 8 --seconds 30
    python recipes/serve_load.py --url http://127.0.0.1:8000 --input sentences.txt

Starts ``llmner serve`` on a free port (or uses a running server with ``--url``), then
``--clients`` threads post sentences from a CoNLL or text file (one sentence a line),
``--texts-per-request`` at a time, for ``--seconds`` after one warm-up request. It reports
requests/s, sentences/s, p50/p99 latency and failed requests, then stops the server and
times offline ``NERModel.predict`` on the same sentences, in batches of ``--batch-size``
for as long (needs ``--adapter``). The JSON holds the machine, the date, the command and
the figures, never the dataset's text.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import itertools
import json
import math
import os
import platform
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from llmner.data.conll import read_conll
from llmner.predict import read_texts, sniff_format


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--adapter", help="run, adapter or merged folder: start a server for it")
    p.add_argument("--url", help="a running server instead (offline figures need --adapter)")
    p.add_argument("--input", required=True, help="a CoNLL file, or text with a sentence a line")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--texts-per-request", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32, help="the server's and offline's")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="the server's")
    p.add_argument("--quantization", choices=["4bit", "8bit", "none"])
    p.add_argument("--start-timeout", type=float, default=600.0, help="seconds to load")
    p.add_argument("--out", default="serve_load.json")
    return p


def read_sentences(path: str) -> list[str]:
    """The sentences of a CoNLL file (words joined by their spaces) or a text file's lines."""
    if sniff_format(path) == "conll":
        return [s.text for s in read_conll(path)]
    return [r["text"] for r in read_texts(path, "text") if r["text"].strip()]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile. Example: ``percentile([4, 1, 3, 2], 50) == 2``."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(len(ordered) * q / 100))) - 1]


def machine() -> dict:
    import torch

    cpu = platform.processor()
    if Path("/proc/cpuinfo").exists():
        names = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def start_server(args) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "llmner", "serve", args.adapter, "--port", str(port)]
    cmd += ["--batch-size", str(args.batch_size), "--max-wait-ms", str(args.max_wait_ms)]
    cmd += ["--log-level", "warning"]
    if args.quantization:
        cmd += ["--quantization", args.quantization]
    server = subprocess.Popen(cmd)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + args.start_timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"llmner serve exited with status {server.returncode}")
        try:
            get_json(url, "/health")
            return server, url
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise RuntimeError(f"llmner serve did not answer within {args.start_timeout} s")


JSON = {"Content-Type": "application/json"}


def get_json(url: str, path: str) -> dict:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("GET", path)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def post(conn: http.client.HTTPConnection, texts: list[str]) -> bool:
    """One request; True when it got an answer for every text."""
    try:
        conn.request("POST", "/predict", json.dumps({"texts": texts}), JSON)
        r = conn.getresponse()
        return r.status == 200 and len(json.loads(r.read())["entities"]) == len(texts)
    except (OSError, http.client.HTTPException, ValueError, KeyError):
        conn.close()  # reconnects at the next request
        return False


def client(url: str, next_texts, deadline: float, record: list) -> None:
    """Post ``next_texts()`` until ``deadline`` (at least once); ``record`` gets
    (latency s, texts, ok) per request."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    while True:
        texts = next_texts()
        start = time.perf_counter()
        ok = post(conn, texts)
        record.append((time.perf_counter() - start, len(texts), ok))
        if time.perf_counter() >= deadline:
            break
    conn.close()


def load_test(url: str, sentences: list[str], args) -> dict:
    k = args.texts_per_request
    starts = itertools.count(0, k)
    lock = threading.Lock()

    def next_texts() -> list[str]:
        with lock:
            i = next(starts) % len(sentences)
        return [sentences[(i + j) % len(sentences)] for j in range(k)]

    warmup: list = []
    client(url, next_texts, 0.0, warmup)  # one request: the first predict call is slower
    if not warmup[0][2]:
        raise RuntimeError(f"the warm-up request to {url}/predict failed")
    before = get_json(url, "/health").get("served", {})
    records: list[tuple[float, int, bool]] = []
    deadline = time.perf_counter() + args.seconds
    threads = [
        threading.Thread(target=client, args=(url, next_texts, deadline, records))
        for _ in range(args.clients)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    after = get_json(url, "/health").get("served", {})
    done = [r for r in records if r[2]]
    latencies = [round(r[0] * 1e3, 2) for r in done]
    batches_run = after.get("batches", 0) - before.get("batches", 0)
    texts_run = after.get("texts", 0) - before.get("texts", 0)
    return {
        "seconds": round(elapsed, 3),
        "requests": len(done),
        "failed_requests": len(records) - len(done),
        "requests_per_s": round(len(done) / elapsed, 3),
        "sentences_per_s": round(sum(r[1] for r in done) / elapsed, 3),
        "latency_ms": {
            "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99),
            "mean": round(sum(latencies) / len(latencies), 2) if latencies else None,
            "max": max(latencies, default=None),
        },
        "server_batches": batches_run,
        "texts_per_batch": round(texts_run / batches_run, 3) if batches_run else None,
    }


def offline(args, sentences: list[str]) -> dict:
    """``predict`` in batches of ``--batch-size`` sentences for ``--seconds`` (one warm-up)."""
    from llmner.predict import load

    ner = load(args.adapter, quantization=args.quantization, batch_size=args.batch_size)
    ner.predict(sentences[:1])
    done, start = 0, time.perf_counter()
    for i in itertools.count(0, args.batch_size):
        batch = [sentences[(i + j) % len(sentences)] for j in range(args.batch_size)]
        ner.predict(batch)
        done += len(batch)
        if time.perf_counter() - start >= args.seconds:
            break
    elapsed = time.perf_counter() - start
    return {
        "sentences": done,
        "seconds": round(elapsed, 3),
        "sentences_per_s": round(done / elapsed, 3),
    }


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    args = make_parser().parse_args(argv)
    if not (args.adapter or args.url):
        raise SystemExit("serve_load: give --adapter (to start a server) or --url")
    sentences = read_sentences(args.input)
    if not sentences:
        raise SystemExit(f"serve_load: no sentences in {args.input}")
    server, url = start_server(args) if args.url is None else (None, args.url.rstrip("/"))
    try:
        health = get_json(url, "/health")
        served = load_test(url, sentences, args)
    finally:
        if server is not None:
            server.terminate()
            server.wait(60)
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "recipes/serve_load.py", *argv]),
        "machine": machine(),
        "model": {k: health.get(k) for k in ("format", "labels", "base_model", "kind")},
        "server_limits": health.get("limits"),
        "input": {"file": Path(args.input).name, "sentences": len(sentences)},
        "clients": args.clients,
        "texts_per_request": args.texts_per_request,
        "served": served,
        "offline": offline(args, sentences) if args.adapter else None,
    }
    if result["offline"]:
        result["served_vs_offline"] = round(
            served["sentences_per_s"] / result["offline"]["sentences_per_s"], 3
        )
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    s, o = served, result["offline"]
    print(
        f"served: {s['requests_per_s']} requests/s, {s['sentences_per_s']} sentences/s, "
        f"p50 {s['latency_ms']['p50']} ms, p99 {s['latency_ms']['p99']} ms, "
        f"{s['failed_requests']} failed"
        + (f"; offline predict: {o['sentences_per_s']} sentences/s" if o else "")
        + f"; written to {args.out}"
    )
    return result


if __name__ == "__main__":
    main()
