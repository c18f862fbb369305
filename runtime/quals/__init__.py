"""quals: the QUALS factual-consistency score for summaries, on numpy + ONNX Runtime (no PyTorch)."""

__version__ = "0.1.0"

from .bundle import Bundle, Manifest, load_bundle  # noqa: E402
from .errors import BundleError, InputError, OptionsError, ProviderError, QualsError  # noqa: E402
from .options import QualsOptions  # noqa: E402
from .result import Result  # noqa: E402
from .scorer import Scorer, Trace  # noqa: E402
from .search import Hypothesis, SearchOptions  # noqa: E402

__all__ = [
    "Bundle",
    "BundleError",
    "Hypothesis",
    "InputError",
    "Manifest",
    "OptionsError",
    "ProviderError",
    "QualsError",
    "QualsOptions",
    "Result",
    "Scorer",
    "SearchOptions",
    "Trace",
    "__version__",
    "load_bundle",
]
