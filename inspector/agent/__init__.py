"""Code that runs inside the application's process.

Imports only the standard library and waitress: it must run in the user's own
interpreter with nothing of ours installed there.
"""
