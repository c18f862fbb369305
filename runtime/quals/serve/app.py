"""The HTTP face of the service: Starlette routes over a Service (see openapi.json beside this file).

Every answer is JSON except the explain page (HTML, when asked) and /metrics (Prometheus text); every refusal
is an error body `{"error": {"status", "kind", "message", "field"?}}` (contract.ApiError). With a token, every
route but /healthz and /readyz needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..tasks import explain as ex
from ..tasks.io import json_text
from .contract import ApiError, parse_explain, parse_score
from .metrics import CONTENT_TYPE
from .service import Service

log = logging.getLogger("quals.serve")

JSON = "application/json"
# The explain page is self-contained (inline CSS and SVG): nothing else may load or run in it.
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document (openapi.json, shipped with the package)."""
    return json.loads(resources.files(__package__).joinpath("openapi.json").read_text(encoding="utf-8"))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON that UTF-8 can always carry (lone surrogates as escapes, as in quals score's files)."""
    return Response(json_text(body).encode("utf-8"), status, headers=headers, media_type=JSON)


def error_response(err: ApiError) -> Response:
    headers = dict(err.headers)
    if err.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return json_response(err.body(), err.status, headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to be over `limit` bytes."""
    ctype = request.headers.get("content-type")
    if ctype is not None and ctype.split(";")[0].strip().lower() not in (JSON, "text/json"):
        raise ApiError("unsupported_media_type", f"send the body as {JSON}, not {ctype}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError("too_large", f"the body is {int(declared):,} bytes; this service takes at most {limit:,} "
                       "(--max-body-bytes)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError("too_large", f"the body is over {limit:,} bytes, the most this service takes "
                           "(--max-body-bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


Handler = Callable[[Request], Awaitable[Response]]


def create_app(service: Service, *, token: str | None = None, drain_timeout: float = 30.0) -> Starlette:
    """The ASGI app. Its lifespan starts the scoring processes and, at shutdown, drains (`drain_timeout`) and
    stops them; `token`: the bearer token every route but the probes needs (None: no authentication)."""
    metrics = service.metrics
    limits = service.limits

    def route(name: str, public: bool = False) -> Callable[[Handler], Handler]:
        """A handler with what every route shares: the token check, error bodies, metrics."""

        def wrap(handler: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                start = time.perf_counter()
                kind = None
                try:
                    if token is not None and not public:
                        _authorize(request, token)
                    response = await handler(request)
                except ApiError as err:
                    kind, response = err.kind, error_response(err)
                except Exception:
                    log.exception("%s failed", name)
                    err = ApiError("internal", "the service failed on this request (its log says why)")
                    kind, response = err.kind, error_response(err)
                metrics.observe(name, response.status_code, time.perf_counter() - start, kind)
                return response

            return endpoint

        return wrap

    @route("score")
    async def score(request: Request) -> Response:
        body = await read_body(request, limits.max_body_bytes)
        return json_response(await service.score(parse_score(body, limits)))

    @route("explain")
    async def explain(request: Request) -> Response:
        body = await read_body(request, limits.max_body_bytes)
        req = parse_explain(body, limits)
        e = await service.explain(req)
        if req.format == "html":
            return HTMLResponse(ex.render_html(e), headers={"Content-Security-Policy": PAGE_POLICY})
        return json_response(e.to_dict())

    @route("info")
    async def info(request: Request) -> Response:
        return json_response(service.info())

    openapi = openapi_document()

    @route("openapi", public=True)
    async def openapi_route(request: Request) -> Response:
        return json_response(openapi)

    @route("healthz", public=True)
    async def healthz(request: Request) -> Response:
        return json_response({"status": "ok"})

    @route("readyz", public=True)
    async def readyz(request: Request) -> Response:
        d = service.dispatcher
        if d.ready:
            return json_response({"status": "ready", "workers": service.config.workers})
        reason = ("draining" if d.draining else f"failed: {d.load_error}" if d.load_error
                  else "loading the model")
        return json_response({"status": "not_ready", "reason": reason}, 503)

    @route("metrics")
    async def metrics_route(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        if kind is None:
            return json_response({"error": {"status": exc.status_code, "kind": "bad_request",
                                            "message": str(exc.detail)}}, exc.status_code)
        message = (f"no route {request.url.path}; see /v1/openapi.json" if kind == "not_found"
                   else f"{request.method} is not allowed on {request.url.path}")
        metrics.observe("unmatched", exc.status_code, 0.0, kind)
        return error_response(ApiError(kind, message, headers=dict(exc.headers or {})))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await service.start()
        try:
            yield
        finally:
            refused = await service.drain(drain_timeout)
            if refused:
                log.warning("shutting down: %d queued record(s) refused (their requests got 503)", refused)
            await service.close()

    routes = [
        Route("/v1/score", score, methods=["POST"]),
        Route("/v1/explain", explain, methods=["POST"]),
        Route("/v1/info", info, methods=["GET"]),
        Route("/v1/openapi.json", openapi_route, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})


def _authorize(request: Request, token: str) -> None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ApiError("unauthorized", "this service needs `Authorization: Bearer <token>` (the --token-file's)")
