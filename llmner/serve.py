"""Entities over HTTP: ``POST /predict`` and ``GET /health``, with micro-batching.

    >>> import llmner                                                  # doctest: +SKIP
    >>> import uvicorn                                                 # doctest: +SKIP
    >>> uvicorn.run(create_app(llmner.load("runs/bc5cdr-tagging")))    # doctest: +SKIP

``POST /predict`` takes ``{"texts": ["...", ...]}`` and answers ``{"entities": [[...],
...]}``, one list per text, each entity as :meth:`llmner.predict.NERModel.predict` gives
it (``start``, ``end``, ``label``, ``text`` and, for generative models, ``score``). A bad
request gets a 4xx status with ``{"error": "..."}``: 400 for a body that is not JSON, 422
for JSON of the wrong shape, 413 past the limits.

Concurrent requests are answered together: one worker task takes the first queued request,
waits up to ``max_wait_ms`` for more (up to ``batch_size`` texts in all; a request is never
split), runs one ``predict`` call for all their texts in a thread and hands each request its
slice. The model is not thread-safe, and one worker means one inference at a time. A
request whose client went away before its batch started is dropped from it; one that goes
away later loses only its own answer.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at
# run time, and ``Request`` is imported inside create_app, so that llmner.serve imports
# without fastapi installed.
import asyncio
import json
from collections.abc import Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict, dataclass

from llmner.rundir.source import describe_base

__all__ = ["Limits", "MicroBatcher", "create_app", "json_type", "model_facts"]

# How often a waiting request checks whether its client is still connected.
_DISCONNECT_POLL_S = 0.05


@dataclass(frozen=True)
class Limits:
    """What one request may ask and how requests are batched.

    Args:
        batch_size: texts per ``predict`` call, summed over the requests it answers.
        max_texts: texts per request.
        max_chars: characters per request, all texts together.
        max_wait_ms: how long the worker waits for more requests before predicting.
    """

    batch_size: int = 32
    max_texts: int = 64
    max_chars: int = 100_000
    max_wait_ms: float = 5.0

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_texts", "max_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be 0 or more, got {self.max_wait_ms}")

    @property
    def max_body_bytes(self) -> int:
        """The most bytes a request within the limits can take: a character written as a
        JSON escape of a surrogate pair takes 12, and each text adds quotes and a comma."""
        return 12 * self.max_chars + 4 * self.max_texts + 1024


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future


class MicroBatcher:
    """Groups the texts of queued requests into ``predict`` calls, one call at a time.

    Args:
        predict: texts in, one answer per text out (``NERModel.predict``).
        batch_size: most texts per call (a larger request goes alone).
        max_wait_s: how long to wait for more requests after the first one arrives.
    """

    def __init__(
        self, predict: Callable[[list[str]], list], batch_size: int, max_wait_s: float
    ) -> None:
        self._predict = predict
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.stats = {"requests": 0, "texts": 0, "batches": 0}
        self._waiting: set[asyncio.Future] = set()

    @property
    def pending(self) -> int:
        """Requests submitted and neither answered nor withdrawn yet."""
        return len(self._waiting)

    def submit(self, texts: list[str]) -> asyncio.Future:
        """Queue ``texts``; the future resolves to their answers. Cancel it to withdraw."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.add(future)
        future.add_done_callback(self._waiting.discard)
        self._queue.put_nowait(_Job(texts, future))
        return future

    async def _collect(self, first: _Job) -> tuple[list[_Job], _Job | None]:
        """``first`` and the jobs that join it; also a job that did not fit, for later."""
        loop = asyncio.get_running_loop()
        batch, size = [first], len(first.texts)
        deadline = loop.time() + self.max_wait_s
        while size < self.batch_size:
            try:
                if self._queue.empty():
                    timeout = deadline - loop.time()
                    if timeout <= 0:
                        break
                    job = await asyncio.wait_for(self._queue.get(), timeout)
                else:
                    job = self._queue.get_nowait()
            except asyncio.TimeoutError:
                break
            if job.future.done():
                continue
            if size + len(job.texts) > self.batch_size:
                return batch, job
            batch.append(job)
            size += len(job.texts)
        return batch, None

    async def run(self) -> None:
        """The worker loop; runs until cancelled."""
        carried: _Job | None = None
        while True:
            first, carried = carried or await self._queue.get(), None
            if first.future.done():  # withdrawn while queued
                continue
            batch, carried = await self._collect(first)
            batch = [job for job in batch if not job.future.done()]
            if batch:
                await self._answer(batch)

    async def _answer(self, batch: list[_Job]) -> None:
        texts = [t for job in batch for t in job.texts]
        self.stats["batches"] += 1
        self.stats["requests"] += len(batch)
        self.stats["texts"] += len(texts)
        try:
            answers = await asyncio.to_thread(self._predict, texts)
        except Exception as e:  # every request of the batch fails, the worker goes on
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(e)
            return
        i = 0
        for job in batch:
            if not job.future.done():
                job.future.set_result(answers[i : i + len(job.texts)])
            i += len(job.texts)


def json_type(value) -> str:
    """What a parsed JSON value is, in JSON's words (not Python's).

    Example:
        >>> [json_type(v) for v in (1, 2.5, True, None, {}, [], "a")]
        ['a number', 'a number', 'a boolean', 'null', 'an object', 'an array', 'a string']
    """
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string"


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def _read_texts(request, limits: Limits) -> list[str]:
    """The ``texts`` of a request body, checked against ``limits``."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limits.max_body_bytes:
            raise _BadRequest(413, f"request body over {limits.max_body_bytes} bytes")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _BadRequest(400, f"body is not valid JSON ({e})") from None
    if not isinstance(data, dict) or "texts" not in data:
        raise _BadRequest(422, 'expected a JSON object {"texts": ["...", ...]}')
    texts = data["texts"]
    if not isinstance(texts, list):
        raise _BadRequest(422, f'"texts" must be an array of strings, not {json_type(texts)}')
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise _BadRequest(422, f'"texts"[{bad}] is {json_type(texts[bad])}, not a string')
    if len(texts) > limits.max_texts:
        raise _BadRequest(413, f"{len(texts)} texts; at most {limits.max_texts} per request")
    chars = sum(map(len, texts))
    if chars > limits.max_chars:
        raise _BadRequest(413, f"{chars} characters; at most {limits.max_chars} per request")
    return texts


async def _wait_unless_gone(request, future: asyncio.Future):
    """The future's result, or ``None`` once the client has disconnected."""
    while not future.done():
        await asyncio.wait({future}, timeout=_DISCONNECT_POLL_S)
        if not future.done() and await request.is_disconnected():
            return None
    return future.result()


def model_facts(ner) -> dict:
    """What ``GET /health`` says about the model: format, labels, base model, folder kind,
    quantization and the word splitter for raw text."""
    source = ner.source
    return {
        "format": source.format,
        "labels": list(ner.labels.types),
        "base_model": describe_base(source.meta),
        "kind": source.kind,
        "quantization": source.quantization,
        "splitter": ner.splitter,
    }


def create_app(ner, limits: Limits | None = None):
    """A FastAPI app that serves ``ner`` (an :class:`~llmner.predict.NERModel`).

    The micro-batching worker starts and stops with the app's lifespan: run the app with
    uvicorn, or use ``with TestClient(app)`` so that it starts.
    """
    # optional: pip install 'llmner[serve]'
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect

    limits = limits or Limits()
    facts = model_facts(ner)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.batcher = MicroBatcher(ner.predict, limits.batch_size, limits.max_wait_ms / 1e3)
        worker = asyncio.create_task(app.state.batcher.run())
        yield
        worker.cancel()
        with suppress(asyncio.CancelledError):
            await worker

    app = FastAPI(title="llmner", lifespan=lifespan)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):  # 404, 405: same body shape
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    def _gone():  # 499: nginx's "client closed request"
        return JSONResponse({"error": "client disconnected"}, status_code=499)

    @app.get("/health")
    async def health(request: Request):
        batcher = request.app.state.batcher
        served = {**batcher.stats, "pending": batcher.pending}
        return {"status": "ok", **facts, "limits": asdict(limits), "served": served}

    @app.post("/predict")
    async def predict(request: Request):
        try:
            texts = await _read_texts(request, limits)
        except _BadRequest as e:
            return JSONResponse({"error": e.message}, status_code=e.status)
        except ClientDisconnect:
            return _gone()
        if not texts:
            return {"entities": []}
        future = request.app.state.batcher.submit(texts)
        try:
            entities = await _wait_unless_gone(request, future)
        except Exception as e:
            return JSONResponse({"error": f"prediction failed: {e}"}, status_code=500)
        finally:
            future.cancel()  # a no-op once answered; withdraws the texts of a gone client
        return _gone() if entities is None else {"entities": entities}

    return app
