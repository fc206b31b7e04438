"""A small Django project in one package: the ORM, templates and the admin.

Serve it with the spec ``inspector.examples.django_site.wsgi:application``
(Examples ▸ "Django: ORM, templates, admin"). See :mod:`.wsgi`.
"""
