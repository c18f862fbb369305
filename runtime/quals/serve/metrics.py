"""The service's Prometheus metrics (GET /metrics), in a registry of its own (never the process-global one).

quals_http_requests_total{route,status}   requests answered
quals_http_request_seconds{route}          latency histogram, from the body read to the response
quals_records_total{status}                scored records by result status (ok, no_qa_pairs, error)
quals_errors_total{kind}                   refusals by kind (contract.KINDS: invalid, overloaded, deadline...)
quals_queue_records                        records waiting for a scoring process
quals_inflight_records                     records in the scoring processes
quals_queue_capacity_records               the queue's bound (--queue-records)
quals_workers_ready                        1 when the pool answers, else 0
quals_worker_restarts_total                pools replaced after a process died
quals_worker_rss_bytes{pid}                resident memory of each scoring process (Linux)
process_*                                  the server process itself (prometheus_client's ProcessCollector)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ..run.pool import rss_bytes

if TYPE_CHECKING:
    from .dispatch import Dispatcher

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: a record takes ~0.1-2 s in a process; a request of 64 records on one process, a minute or two.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300)


class _Workers(Collector):
    def __init__(self, dispatcher: Dispatcher):
        self.dispatcher = dispatcher

    def collect(self):
        g = GaugeMetricFamily("quals_worker_rss_bytes", "Resident memory of each scoring process", labels=["pid"])
        for w in self.dispatcher.workers_info:
            rss = rss_bytes(w.pid)
            if rss is not None:
                g.add_metric([str(w.pid)], rss)
        yield g
        yield CounterMetricFamily("quals_worker_restarts", "Pools replaced after a process died",
                                  value=self.dispatcher.restarts)


class Metrics:
    def __init__(self):
        self.registry = r = CollectorRegistry()
        ProcessCollector(registry=r)
        self.requests = Counter("quals_http_requests", "HTTP requests answered", ["route", "status"], registry=r)
        self.latency = Histogram("quals_http_request_seconds", "Time to answer a request", ["route"],
                                 buckets=BUCKETS, registry=r)
        self.records = Counter("quals_records", "Scored records by result status", ["status"], registry=r)
        self.errors = Counter("quals_errors", "Refused requests by kind", ["kind"], registry=r)

    def watch(self, dispatcher: Dispatcher) -> None:
        r = self.registry
        Gauge("quals_queue_records", "Records waiting for a scoring process", registry=r).set_function(
            lambda: dispatcher.queued)
        Gauge("quals_inflight_records", "Records in the scoring processes", registry=r).set_function(
            lambda: dispatcher.inflight)
        Gauge("quals_queue_capacity_records", "The queue's bound", registry=r).set(dispatcher.queue_records)
        Gauge("quals_workers_ready", "1 when the scoring processes answer", registry=r).set_function(
            lambda: float(dispatcher.ready))
        r.register(_Workers(dispatcher))

    def observe(self, route: str, status: int, seconds: float, error_kind: str | None = None) -> None:
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if error_kind is not None:
            self.errors.labels(error_kind).inc()

    def count_records(self, records: list[dict]) -> None:
        for rec in records:
            self.records.labels(rec.get("status", "error")).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
