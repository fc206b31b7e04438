"""WSGI Inspector: the Qt-free engine (agent, model, host)."""

__version__ = "0.1.0"
