"""Serving over HTTP: answers equal ``predict``, bad requests get 4xx, concurrent requests
are batched, and a client that goes away costs only its own answer."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from adapters.tiny_runs import TINY_CONLL, tiny_run  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from llmner.data.conll import read_conll  # noqa: E402
from llmner.predict import load  # noqa: E402
from llmner.serve import Limits, MicroBatcher, create_app  # noqa: E402

# the tiny run finds entities in these (checked below, so that equalities are not vacuous)
TEXTS = [s.text for s in read_conll(TINY_CONLL)]


class Counting:
    """A model whose ``predict`` calls are recorded (and optionally held or scored)."""

    def __init__(self, ner, hold: threading.Event | None = None, score: float | None = None):
        self._ner, self.calls, self.hold, self.score = ner, [], hold, score

    def __getattr__(self, name):
        return getattr(self._ner, name)

    def predict(self, texts):
        self.calls.append(list(texts))
        if self.hold is not None:
            assert self.hold.wait(60)
        out = self._ner.predict(texts)
        if self.score is not None:
            out = [[{**e, "score": self.score} for e in ents] for ents in out]
        return out


@pytest.fixture(scope="module")
def ner(tmp_path_factory, tiny_llama_dir):
    return load(tiny_run(tmp_path_factory, tiny_llama_dir, "fp32"), batch_size=8)


@pytest.fixture(scope="module")
def expected(ner):
    """Each text predicted alone, directly."""
    out = [ner.predict([t])[0] for t in TEXTS]
    assert sum(map(len, out)) > 0, "the tiny run finds entities"
    return out


def test_predict_equals_the_model_and_health_describes_it(ner, expected):
    with TestClient(create_app(ner)) as client:
        r = client.post("/predict", json={"texts": TEXTS[:4] + [""]})
        assert r.status_code == 200
        assert r.json() == {"entities": ner.predict(TEXTS[:4] + [""])}
        assert r.json()["entities"][:4] == expected[:4]
        assert client.post("/predict", json={"texts": []}).json() == {"entities": []}
        health = client.get("/health").json()
    assert health["status"] == "ok" and health["format"] == "tagging"
    assert health["labels"] == list(ner.labels.types) and health["kind"] == "adapter"
    assert health["base_model"] == ner.source.meta["model_name_or_path"]
    assert health["splitter"] == ner.splitter == ner.source.meta["splitter"]  # the run's
    assert health["limits"]["batch_size"] == Limits().batch_size
    assert health["served"] == {"requests": 1, "texts": 5, "batches": 1, "pending": 0}


def test_scores_are_passed_on(ner):
    with TestClient(create_app(Counting(ner, score=0.25))) as client:
        ents = client.post("/predict", json={"texts": TEXTS}).json()["entities"]
    flat = [e for es in ents for e in es]
    assert flat and all(e["score"] == 0.25 for e in flat)


BAD = [
    pytest.param(b"{not json", 400, "not valid JSON", id="malformed-json"),
    pytest.param(b"\xff\xfe", 400, "not valid JSON", id="not-utf8"),
    pytest.param(b"[]", 422, "expected a JSON object", id="not-an-object"),
    pytest.param(b'{"text": ["a"]}', 422, "expected a JSON object", id="missing-texts"),
    pytest.param(b'{"texts": "a b"}', 422, "an array of strings, not a string", id="not-a-list"),
    pytest.param(b'{"texts": ["a", 3]}', 422, '"texts"[1] is a number, not', id="not-a-string"),
    pytest.param(b'{"texts": ["a", null]}', 422, '"texts"[1] is null, not', id="null-item"),
    pytest.param(b'{"texts": [true]}', 422, '"texts"[0] is a boolean, not', id="bool-item"),
    pytest.param(b'{"texts": {"a": 1}}', 422, "not an object", id="object-texts"),
    pytest.param(json.dumps({"texts": ["a"] * 5}).encode(), 413, "at most 4", id="too-many"),
    pytest.param(json.dumps({"texts": ["ab" * 30]}).encode(), 413, "at most 50", id="too-long"),
    pytest.param(b'{"texts": ["' + b"a" * 2000 + b'"]}', 413, "request body", id="huge-body"),
]


@pytest.mark.parametrize("body, status, message", BAD)
def test_a_bad_request_gets_4xx_and_the_next_one_works(ner, expected, body, status, message):
    limits = Limits(max_texts=4, max_chars=50)
    with TestClient(create_app(ner, limits)) as client:
        r = client.post("/predict", content=body, headers={"content-type": "application/json"})
        assert r.status_code == status
        assert message in r.json()["error"]
        ok = client.post("/predict", json={"texts": TEXTS[:1]})
        assert ok.status_code == 200 and ok.json()["entities"] == expected[:1]


def test_unknown_routes_answer_json(ner):
    with TestClient(create_app(ner)) as client:
        assert client.get("/nope").json() == {"error": "Not Found"}
        assert client.get("/predict").status_code == 405


def test_concurrent_requests_are_batched_and_get_their_own_answers(ner, expected):
    model = Counting(ner)
    # a long wait lets every request join the first batch, however slow the threads start
    limits = Limits(batch_size=len(TEXTS), max_wait_ms=2000)
    requests = [TEXTS[i : i + 2] for i in range(0, len(TEXTS), 2)]  # 6 requests of 2 texts
    with TestClient(create_app(model, limits)) as client:

        def ask(texts):
            return client.post("/predict", json={"texts": texts}).json()["entities"]

        with ThreadPoolExecutor(len(requests)) as pool:
            answers = list(pool.map(ask, requests))
        served = client.get("/health").json()["served"]
    assert answers == [expected[i : i + 2] for i in range(0, len(TEXTS), 2)]
    assert len(model.calls) < len(requests)
    assert sorted(t for call in model.calls for t in call) == sorted(TEXTS)
    assert served == {"requests": 6, "texts": 12, "batches": len(model.calls), "pending": 0}


def test_a_request_is_never_split_and_a_full_batch_does_not_wait(ner):
    model = Counting(ner)
    with TestClient(create_app(model, Limits(batch_size=2, max_wait_ms=10_000))) as client:
        start = time.perf_counter()
        r = client.post("/predict", json={"texts": TEXTS[:5]})
        assert r.status_code == 200 and len(r.json()["entities"]) == 5
        client.post("/predict", json={"texts": TEXTS[:2]})
    assert time.perf_counter() - start < 10
    assert model.calls == [TEXTS[:5], TEXTS[:2]]


def test_a_failing_model_gives_500_and_the_server_goes_on(ner, expected):
    class Flaky(Counting):
        def predict(self, texts):
            if "boom" in texts:
                raise RuntimeError("out of memory")
            return super().predict(texts)

    with TestClient(create_app(Flaky(ner))) as client:
        r = client.post("/predict", json={"texts": ["boom"]})
        assert r.status_code == 500 and "out of memory" in r.json()["error"]
        assert client.post("/predict", json={"texts": TEXTS[:1]}).json()["entities"] == expected[:1]


def test_withdrawn_requests_are_left_out_of_the_batch():
    calls = []

    async def scenario():
        batcher = MicroBatcher(lambda texts: calls.append(texts) or texts, 10, 0.05)
        worker = asyncio.create_task(batcher.run())
        gone = batcher.submit(["gone"])
        kept = batcher.submit(["kept"])
        gone.cancel()
        answer = await kept
        worker.cancel()
        return answer

    assert asyncio.run(scenario()) == ["kept"]
    assert calls == [["kept"]]


def _until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_client_that_disconnects_costs_only_its_own_answer(ner, expected):
    """On a real server: while a batch is predicted, a client sends a request and hangs
    up; its texts are never predicted, and the other clients get their answers."""
    import httpx
    import uvicorn

    hold = threading.Event()
    model = Counting(ner, hold=hold)
    port = _free_port()
    app = create_app(model, Limits(max_wait_ms=0))
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: server.started)
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(httpx.post, f"{url}/predict", json={"texts": TEXTS[:1]}, timeout=60)
            _until(lambda: model.calls)  # the first batch is being predicted (and held)
            body = json.dumps({"texts": ["Gone Person left."]}).encode()
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(
                    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                _until(lambda: app.state.batcher.pending == 2)  # queued behind the held one
            _until(lambda: app.state.batcher.pending == 1)  # the server noticed the hang-up
            hold.set()
            assert first.result().json()["entities"] == expected[:1]
        after = httpx.post(f"{url}/predict", json={"texts": TEXTS[1:2]}, timeout=60)
        assert after.json()["entities"] == expected[1:2]
        assert model.calls == [TEXTS[:1], TEXTS[1:2]]
    finally:
        hold.set()
        server.should_exit = True
        thread.join(30)
