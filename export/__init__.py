"""quals.export: turn a Hugging Face QAGen checkpoint into a quals bundle (needs the `export` extra)."""

from .exporter import ExportError, export_bundle

__all__ = ["ExportError", "export_bundle"]
