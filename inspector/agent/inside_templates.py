"""Templates per exchange: Jinja2 (Flask's and plain) and Django's.

Each render becomes a ``template`` event when it returns: ``name``,
``duration``, ``depth`` (0 for the render the app asked for, 1 for a
template it includes or extends, ...), ``engine``, ``source`` (the user's
line that asked for it), ``context`` (the top render's keys, each value a
capped repr, at most KEYS of them) and ``error`` when it raised. Events of
nested templates come before their parent's (they end first); their ``t``
gives the order they started in.

Jinja2: ``Template.render`` is timed; a template it includes or extends is
loaded through ``Environment.get_template`` while rendering, which is timed
as that template's render (it runs inside its parent's render function).
Django: ``Template._render``, which both ``render`` and ``{% extends %}`` run
(Django's ``template_rendered`` signal is sent only under its test runner).
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

from .inside import Undo, _perf, error_text, lane, preview, record, source

KEYS = 30  # context keys shown per render
_local = threading.local()


def _renders() -> list[Any]:
    """The templates rendering on this thread now, outermost first."""
    renders = getattr(_local, "renders", None)
    if renders is None:
        renders = _local.renders = []
    return renders


def _emit(flight: Any, start: float, name: str, engine: str, depth: int,
          context: Any, error: BaseException | None) -> None:
    fields: dict[str, Any] = {"name": name, "engine": engine, "depth": depth,
                              "source": source() if depth == 0 else ""}
    if context is not None:
        fields["context"] = _preview_context(context)
    if error is not None:
        fields["error"] = error_text(error)
    record(flight, "template", start, fields)


def _preview_context(context: Any) -> dict[str, str]:
    shown: dict[str, str] = {}
    try:
        for key, value in context.items():
            if len(shown) >= KEYS:
                break
            if isinstance(key, str) and not key.startswith("_"):
                shown[key] = preview(value, 80)
    except Exception:  # a mapping of the app's that cannot be listed
        pass
    return shown


def _timed(flight: Any, template: Any, name: str, engine: str, context: Any, run: Any,
           args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``run(template, *args, **kwargs)`` timed as one render (the app's own keyword
    arguments stay apart: a template may well get one called ``name``)."""
    renders = _renders()
    depth = len(renders)
    renders.append(template)
    start = _perf()
    try:
        result = run(template, *args, **kwargs)
    except BaseException as exc:
        del renders[depth:]
        _emit(flight, start, name, engine, depth, context, exc)
        raise
    del renders[depth:]
    _emit(flight, start, name, engine, depth, context, None)
    return result


# -- Jinja2 ------------------------------------------------------------------------------

def patch_jinja2(jinja2: ModuleType) -> Undo:
    template_cls, env_cls = jinja2.Template, jinja2.Environment
    render, get_template = template_cls.render, env_cls.get_template

    def watched_render(self: Any, *args: Any, **kwargs: Any) -> Any:
        flight = lane()
        if flight is None:
            return render(self, *args, **kwargs)
        context = None if _renders() else dict(*args, **kwargs)
        return _timed(flight, self, self.name or "(string)", "jinja2", context, render,
                      args, kwargs)

    def watched_get_template(self: Any, name: Any, *args: Any, **kwargs: Any) -> Any:
        template = get_template(self, name, *args, **kwargs)
        if _renders() and lane() is not None:
            _Included.mark(template)
        return template

    for cls, attr, new, old in ((template_cls, "render", watched_render, render),
                                (env_cls, "get_template", watched_get_template, get_template)):
        new.__name__, new.__qualname__, new.__doc__ = old.__name__, old.__qualname__, old.__doc__
        setattr(cls, attr, new)

    def undo() -> None:
        template_cls.render, env_cls.get_template = render, get_template

    return undo


class _Included:
    """A template Jinja2 loaded while rendering another: its root render function
    (which the parent calls directly) is timed as one more render, one level
    deeper. The function is wrapped on the template object, once; when the
    template is itself the render in progress (rendered on its own later), the
    wrapper leaves the timing to ``render``."""

    @staticmethod
    def mark(template: Any) -> None:
        inner = template.__dict__.get("root_render_func")
        if inner is None or getattr(inner, "_inside", False):
            return

        def root_render_func(context: Any) -> Any:
            flight = lane()
            renders = _renders()
            if flight is None or (renders and renders[-1] is template):
                yield from inner(context)
                return
            depth = len(renders)
            renders.append(template)
            start = _perf()
            name = template.name or "(string)"
            try:
                yield from inner(context)
            except BaseException as exc:
                del renders[depth:]
                _emit(flight, start, name, "jinja2", depth, None, exc)
                raise
            del renders[depth:]
            _emit(flight, start, name, "jinja2", depth, None, None)

        root_render_func._inside = True  # type: ignore[attr-defined]
        template.root_render_func = root_render_func


# -- Django ----------------------------------------------------------------------------------

def patch_django_templates(base: ModuleType) -> Undo:
    cls = base.Template
    render = cls._render

    def _render(self: Any, context: Any) -> Any:
        flight = lane()
        if flight is None:
            return render(self, context)
        name = self.name or getattr(getattr(self, "origin", None), "template_name", None)
        shown = None if _renders() else _flat(context)
        return _timed(flight, self, str(name or "(string)"), "django", shown, render,
                      (context,), {})

    _render.__name__, _render.__qualname__, _render.__doc__ = (
        render.__name__, render.__qualname__, render.__doc__)
    cls._render = _render

    def undo() -> None:
        cls._render = render

    return undo


def _flat(context: Any) -> Any:
    try:
        return context.flatten()
    except Exception:
        return None
