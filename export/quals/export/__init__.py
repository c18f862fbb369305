"""quals.export: turn a Hugging Face QAGen checkpoint into a quals bundle (needs the `export` extra)."""

from .exporter import ExportError, export_bundle
from .quantize import quantize_bundle, rehash

__all__ = ["ExportError", "export_bundle", "quantize_bundle", "rehash"]
