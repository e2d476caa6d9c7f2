"""The city feedback gateway: one front door for everything residents tell their city."""

__version__ = "0.1.0"
