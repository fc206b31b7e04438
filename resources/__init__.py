"""WSGI Inspector's files that are not code: explanation texts, the icon, desktop entries.

The folder ``resources/`` is installed as the package ``wsgi_inspector_resources``
(pyproject.toml maps it), so ``importlib.resources`` finds it the same way in a
source checkout, an editable install, a wheel and the frozen app. Read it only
through ``ui.resources``.
"""
