"""A small Django project, configured in code: the ORM on SQLite, templates, the admin.

``application`` is what ``gunicorn`` or the inspector serves (the spec is
``inspector.examples.django_site.wsgi:application``). The database is a file
in the temporary folder, created and filled at start-up; the admin's user is
``admin`` with the password ``admin`` (this runs on 127.0.0.1 only).

``/`` lists the books: its template reads ``book.author``, one query per book
(the "N+1" the Findings tab warns about); ``/?fast=1`` uses
``select_related``, one JOIN. ``/authors/`` counts each author's books the same
slow way, ``/api/books/`` answers JSON, ``/admin/`` is Django's admin.
"""

import os
import tempfile

try:
    import django
    from django.conf import settings
except ImportError:
    from .. import needs

    raise needs("Django", "django") from None

HERE = os.path.dirname(os.path.abspath(__file__))
DB = os.path.join(tempfile.gettempdir(), "wsgi-inspector-django-example.sqlite3")

if not settings.configured:
    settings.configure(
        DEBUG=True,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        SECRET_KEY="an example that only listens on 127.0.0.1",
        ROOT_URLCONF=__name__,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DB}},
        INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth",
                        "django.contrib.contenttypes", "django.contrib.sessions",
                        "django.contrib.messages", "inspector.examples.django_site"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                    "django.middleware.common.CommonMiddleware",
                    "django.middleware.csrf.CsrfViewMiddleware",
                    "django.contrib.auth.middleware.AuthenticationMiddleware",
                    "django.contrib.messages.middleware.MessageMiddleware"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                    "DIRS": [os.path.join(HERE, "templates")], "APP_DIRS": True,
                    "OPTIONS": {"context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages"]}}],
        STATIC_URL="/static/",
    )
    django.setup()

from django.contrib import admin  # noqa: E402  (after setup: the apps must be ready)
from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402

from . import views  # noqa: E402
from .models import Author, Book  # noqa: E402

LIBRARY = {
    "Luciano Ramalho": ["Fluent Python"],
    "Miguel Grinberg": ["Flask Web Development"],
    "Harry Percival": ["Test-Driven Development with Python", "Architecture Patterns"],
    "Al Sweigart": ["Automate the Boring Stuff"],
}


def _fill():
    call_command("migrate", run_syncdb=True, verbosity=0)
    from django.contrib.auth.models import User

    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@example.com", "admin")
    for name, titles in LIBRARY.items():
        author, _ = Author.objects.get_or_create(name=name)
        for title in titles:
            Book.objects.get_or_create(title=title, author=author)


urlpatterns = [
    path("", views.books),
    path("authors/", views.authors),
    path("api/books/", views.api_books),
    path("admin/", admin.site.urls),
]

_fill()
application = get_wsgi_application()
