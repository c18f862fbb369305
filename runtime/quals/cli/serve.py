"""`quals serve`: option parsing only; the service is quals.serve (the `serve` extra)."""

from __future__ import annotations

from pathlib import Path

import click

from ..serve.limits import Limits  # no dependency of the serve extra: the defaults are declared once, there
from . import options as o
from .app import exit_codes, main, note

DEFAULTS = Limits()


@main.command()
@o.model
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs --token-file (or --no-token, e.g. behind "
                   "an authenticating proxy).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port (0: any free).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Scoring processes, each with its own copy of the model (the records of all requests are shared "
                   "out among them).")
@o.threads
@o.provider
@o.variant
@o.max_pairs
@o.max_source_tokens
@o.source_windows
@o.verdicts
@o.search
@click.option("--batch-records", type=click.IntRange(min=1), default=1, show_default=True,
              help="Most records per call of a scoring process (the numbers are the same either way).")
@click.option("--max-body-bytes", type=click.IntRange(min=1), default=DEFAULTS.max_body_bytes, show_default=True,
              help="Largest request body (413 above it).")
@click.option("--max-records", type=click.IntRange(min=1), default=DEFAULTS.max_records, show_default=True,
              help="Most records in one /v1/score request (413 above it).")
@click.option("--max-text-chars", type=click.IntRange(min=1), default=DEFAULTS.max_text_chars, show_default=True,
              help="Longest source or summary, in characters (422 above it).")
@click.option("--queue-records", type=click.IntRange(min=1), default=DEFAULTS.queue_records, show_default=True,
              help="Records waiting for a scoring process, all requests together (429 with Retry-After when a "
                   "request does not fit).")
@click.option("--deadline", type=click.FloatRange(min=0, min_open=True), default=DEFAULTS.deadline_s, show_default=True,
              help="Seconds a request may wait for its results (504 after it).")
@click.option("--drain-timeout", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="On SIGTERM/SIGINT: seconds queued records get to finish before they are refused (503).")
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="A file holding the bearer token every request but /healthz and /readyz must send.")
@click.option("--no-token", is_flag=True, help="Listen on a non-loopback --host without a token.")
@click.option("--access-log/--no-access-log", default=True, help="One log line per request (uvicorn's).")
def serve(model, host, port, workers, threads, provider, allow_cpu_fallback, variant, max_pairs, max_source_tokens,
          source_windows, verdicts, batch_records, max_body_bytes, max_records, max_text_chars, queue_records, deadline,
          drain_timeout, token_file, no_token, access_log, **search_kw):
    """Serve the scorer over HTTP: POST /v1/score, POST /v1/explain, GET /v1/info, /healthz, /readyz, /metrics
    (pip install 'quals[serve]'; the API is described in /v1/openapi.json)."""
    try:
        from ..serve import server
        from ..serve.service import Service, ServiceConfig
    except ImportError as exc:
        raise click.UsageError(f"quals serve needs the serve extra ({exc.name} is missing): "
                               "pip install 'quals[serve]'") from exc
    token = None
    if token_file is not None:
        token = token_file.read_text(encoding="utf-8").strip()
        if not token:
            raise click.UsageError(f"--token-file {token_file} is empty")
    elif not server.is_loopback(host) and not no_token:
        raise click.UsageError(f"--host {host} is reachable from other machines: give --token-file FILE (a bearer "
                               "token), or --no-token if something in front of the service authenticates")
    overrides = dict(variant=variant, max_pairs=max_pairs, max_source_tokens=max_source_tokens,
                     source_windows=source_windows, verdicts=verdicts,
                     **o.search_overrides(search_kw))
    with exit_codes():
        limits = Limits(max_body_bytes=max_body_bytes, max_records=max_records, max_text_chars=max_text_chars,
                        queue_records=queue_records, deadline_s=deadline)
        config = ServiceConfig(model=model, workers=workers, threads=threads, provider=provider,
                               allow_cpu_fallback=allow_cpu_fallback, batch_records=batch_records, limits=limits,
                               overrides=tuple(overrides.items()))
        service = Service.open(config)
    note(f"model {service.bundle.path} ({service.signatures[service.variant]}); {workers} scoring process(es); "
         f"http://{host}:{port} (API: /v1/openapi.json)" + (", bearer token required" if token else ""))
    server.run(service, host=host, port=port, token=token, drain_timeout=drain_timeout, access_log=access_log)
