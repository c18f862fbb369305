"""What the service accepts and how long it waits: one frozen dataclass, each field a `quals serve` flag."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import OptionsError


@dataclass(frozen=True)
class Limits:
    """Bounds on a request and on the service's queue.

    max_body_bytes: a request body larger than this is refused (413) before it is parsed.
    max_records: records in one /v1/score request (413 above it).
    max_text_chars: characters of one source or summary (422 above it). Text past the bundle's token limit
        is cut anyway; this bounds the tokenizer's work and the memory a request can pin.
    queue_records: records waiting for a scoring process, across requests; a request that does not fit is
        refused whole (429, Retry-After), never partly queued.
    deadline_s: how long a request may wait for its results (504 after it; its queued records are dropped).
    """

    max_body_bytes: int = 16 * 2**20
    max_records: int = 64
    max_text_chars: int = 200_000
    queue_records: int = 256
    deadline_s: float = 120.0

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not value > 0:
                raise OptionsError(f"{name} must be > 0, not {value!r}")
        if self.max_records > self.queue_records:
            raise OptionsError(f"max_records ({self.max_records}) cannot exceed queue_records ({self.queue_records}): "
                               "a request that large could never be queued")

    def to_dict(self) -> dict:
        return asdict(self)
