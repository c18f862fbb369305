"""Run the app on uvicorn, with a drain before uvicorn's own graceful shutdown.

On SIGTERM or SIGINT, the service first drains while its port is still open (new requests get 503
shutting_down, /readyz says not ready, queued records get `drain_timeout` seconds to finish and are then
refused to their requests explicitly), then uvicorn stops accepting connections and waits for the responses.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket

import uvicorn

from .app import create_app
from .service import Service

log = logging.getLogger("quals.serve")


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, service: Service, drain_timeout: float):
        super().__init__(config)
        self.service, self.drain_timeout = service, drain_timeout

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        refused = await self.service.drain(self.drain_timeout)
        if refused:
            log.warning("shutting down: %d queued record(s) refused (their requests got 503)", refused)
        await super().shutdown(sockets)


def run(service: Service, *, host: str = "127.0.0.1", port: int = 8080, token: str | None = None,
        drain_timeout: float = 30.0, log_level: str = "info", access_log: bool = True) -> None:
    """Serve until SIGTERM/SIGINT (blocks)."""
    app = create_app(service, token=token, drain_timeout=drain_timeout)
    # uvicorn's own wait for responses after the drain: the longest a running request can still take.
    config = uvicorn.Config(app, host=host, port=port, lifespan="on", log_level=log_level, access_log=access_log,
                            timeout_graceful_shutdown=int(service.limits.deadline_s) + 5, server_header=False)
    # uvicorn re-raises the signal that stopped it once it has shut down (so that the process dies of it); the
    # shutdown was clean, so the command ends normally instead (exit 0): the re-raised signal lands here.
    previous = {sig: signal.signal(sig, _after_shutdown) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _DrainingServer(config, service, drain_timeout).run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _after_shutdown(signum: int, frame) -> None:
    log.debug("signal %d after a clean shutdown", signum)
