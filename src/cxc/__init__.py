"""cxc: programme manager for European cluster exchanges."""

__version__ = "0.1.0"
