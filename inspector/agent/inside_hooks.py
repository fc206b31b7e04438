"""Which module's import installs which hook (see :mod:`.inside`)."""

from __future__ import annotations

from .inside import Patch
from .inside_http import patch_http_client, patch_httpx
from .inside_sql import patch_django, patch_sqlalchemy, patch_sqlite3
from .inside_templates import patch_django_templates, patch_jinja2

# Each name is the module whose own code, once run, defines what its hook patches.
HOOKS: dict[str, Patch] = {
    "sqlite3": patch_sqlite3,
    "django.db.backends.signals": patch_django,
    "sqlalchemy": patch_sqlalchemy,
    "http.client": patch_http_client,
    "httpx": patch_httpx,
    "jinja2": patch_jinja2,
    "django.template.base": patch_django_templates,
}
