"""The desktop window of WSGI Inspector (PySide6)."""
