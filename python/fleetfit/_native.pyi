"""Type stubs for the Rust extension module built from python/src/lib.rs."""

__all__ = ["InputError", "__version__", "parse_manifests_json"]

__version__: str

class InputError(ValueError):
    """The input cannot be used: the message names the object and field at fault."""

def parse_manifests_json(text: str, source_name: str = "<string>") -> str:
    """Parse Kubernetes YAML or JSON into fleetfit's inventory, returned as JSON text."""
