"""AlAwael ERP API: GraphQL and legacy REST over MongoDB."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alawael")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
