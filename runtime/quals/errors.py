"""Typed errors. The library raises; only the CLI turns them into messages and exit codes."""


class QualsError(Exception):
    """Base class of every error quals raises on purpose."""


class BundleError(QualsError):
    """A model bundle is missing, incomplete, tampered with or of an unsupported version."""


class ProviderError(QualsError):
    """The requested ONNX Runtime execution provider cannot be used."""


class InputError(QualsError):
    """A record or an argument cannot be scored as given (empty text, missing field...)."""


class OptionsError(QualsError, ValueError):
    """Search or scoring options that contradict each other or the bundle."""


class NoModelError(QualsError, LookupError):
    """No bundle was named, $QUALS_MODEL is not set and no default model is installed."""
