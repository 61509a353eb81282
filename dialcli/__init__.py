"""dial: a scriptable command suite for EPAM's AI DIAL API."""

__version__ = "0.1.0"
