"""`quals info` and `quals conformance`: what a bundle is, and the vectors other hosts check themselves with."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ..bundle import load_bundle
from ..models import resolve_model
from ..scorer import Scorer
from ..search import SEARCHES
from ..tasks.conformance import CASES, vectors
from .app import exit_codes, main, progress_bar


@main.command()
@click.argument("bundle", required=False)
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--name", default=None, help="Name recorded in the vectors (default: the bundle directory's name).")
@click.option("--progress/--no-progress", default=True, help="Show progress on stderr.")
def conformance(bundle, out, name, progress):
    """Write OUT/vectors.json: every intermediate value of scoring a fixed set of records with BUNDLE
    (one thread), for other hosts to reproduce. See docs/hosts.md."""
    with exit_codes():
        path = resolve_model(bundle)
        scorer = Scorer.load(path, threads=1)
    rel = os.path.relpath(path.resolve(), Path.cwd())
    with progress_bar(len(CASES) * len(SEARCHES), "conformance", progress) as bar:
        doc = vectors(scorer, name=name or path.resolve().name, bundle_path=rel, progress=bar.update)
    Path(out).mkdir(parents=True, exist_ok=True)
    target = Path(out) / "vectors.json"
    target.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    click.echo(f"wrote {target} ({len(doc['cases'])} cases; coverage {json.dumps(doc['coverage'])})")


@main.command()
@click.argument("bundle", required=False)
@click.option("--no-verify", is_flag=True, help="Skip the sha256 check.")
def info(bundle, no_verify):
    """Print a bundle's manifest, file sizes and the execution providers available here."""
    import onnxruntime as ort

    with exit_codes():
        b = load_bundle(resolve_model(bundle), verify=not no_verify)
    files = {name: (b.path / name).stat().st_size for name in b.manifest.sha256}
    click.echo(json.dumps({"path": str(b.path), "verified": not no_verify, "files": files,
                           "total_bytes": sum(files.values()), "providers_available": ort.get_available_providers(),
                           "onnxruntime": ort.__version__, "manifest": json.loads(b.manifest.to_json())},
                          indent=1, ensure_ascii=False))
