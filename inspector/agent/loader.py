"""Turn an app spec such as ``myproj.wsgi:app`` into the WSGI callable.

Runs inside the user's process, so it uses only the standard library. Every
failure is a :class:`LoadError` whose message is one plain sentence the host can
show as-is; when the user's own code raised, the error also carries that code's
traceback with our frames (and importlib's) cut out, so the user sees only theirs.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import sys
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any, NamedTuple

__all__ = ["LoadError", "SpecParts", "load_app", "parse_spec", "project_files"]

# Names tried, in order, when the spec names only a module.
_APP_NAMES = ("app", "application")
_FACTORY_NAMES = ("create_app", "make_app")

# Directories whose contents belong to installed packages, not to the project.
_ENV_DIRS = frozenset({"venv", ".venv", "site-packages", "dist-packages"})

_NAME = r"[^\W\d]\w*"
_MODULE_RE = re.compile(rf"{_NAME}(?:\.{_NAME})*")
# What may follow the colon: a dotted name, optionally called once.
_EXPR_RE = re.compile(rf"{_NAME}(?:\.{_NAME})*\s*(?:\(.*\))?", re.DOTALL)

_EXAMPLE = "expected module:callable, e.g. 'myproj.wsgi:app' or 'app.py:create_app()'"
_MISSING = object()
_LIST_LIMIT = 10
_PATH_LIMIT = 5
_TEXT_LIMIT = 300
_HERE = os.path.normcase(os.path.abspath(__file__))
_IMPORTLIB_DIR = os.path.normcase(os.path.dirname(os.path.abspath(importlib.__file__)))


class LoadError(Exception):
    """The app could not be loaded.

    ``str(err)`` is one plain sentence saying what is wrong and what to do.
    ``err.user_traceback`` is the user's traceback text (loader frames removed)
    when the user's code raised, else ``None``.
    """

    def __init__(self, message: str, user_traceback: str | None = None) -> None:
        # The host shows this on one line, so never let a newline through.
        super().__init__(re.sub(r"\s*[\r\n]+\s*", " ", message).strip())
        self.user_traceback = user_traceback

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep user_traceback when the error crosses a process boundary.
        return (type(self), (str(self), self.user_traceback))


def load_app(spec: str, app_dir: str | None = None) -> Callable[..., Any]:
    """Import what ``spec`` names and return the WSGI callable.

    ``app_dir`` (default: the current directory) is put first on ``sys.path`` so
    the project's modules win over installed ones of the same name.
    """
    root = os.path.abspath(app_dir if app_dir is not None else os.getcwd())
    if not os.path.isdir(root):
        raise LoadError(f"The app directory {root} does not exist; pass an existing directory.")
    target, expr = _split_spec(spec)
    # Check the whole spec before importing anything: user code has side effects.
    call = _parse_expr(expr, spec) if expr is not None else None
    is_file = _is_path(target)
    if not is_file and not _MODULE_RE.fullmatch(target):
        raise _malformed(spec, f"{target!r} is neither a module name nor a .py file")
    _prepend_path(root)
    # Files may have appeared since the import system last listed a directory.
    importlib.invalidate_caches()
    module = _load_file(target, root) if is_file else _import_module(target)
    if call is None:
        return _default_app(module)
    return _resolve_call(module, call)


class SpecParts(NamedTuple):
    """An app spec taken apart, without importing anything."""

    target: str  # a module name, or a .py path (relative to the app directory)
    is_file: bool
    attribute: list[str] | None  # the dotted name after the colon; None: the defaults
    args: tuple[Any, ...] | None  # literal arguments when it is called, else None
    kwargs: dict[str, Any]


def parse_spec(spec: str) -> SpecParts:
    """What ``spec`` names, as :func:`load_app` reads it; LoadError if malformed.
    (A generated test imports the app the same way, from its own code.)"""
    target, expr = _split_spec(spec)
    call = _parse_expr(expr, spec) if expr is not None else None
    is_file = _is_path(target)
    if not is_file and not _MODULE_RE.fullmatch(target):
        raise _malformed(spec, f"{target!r} is neither a module name nor a .py file")
    if call is None:
        return SpecParts(target, is_file, None, None, {})
    return SpecParts(target, is_file, call.path, call.args, call.kwargs)


def project_files(app_dir: str) -> list[str]:
    """Source files of already-imported modules that live in the project.

    Anything inside a virtual environment or site-packages under ``app_dir``
    is left out: those files are not the user's to edit.
    """
    root = os.path.realpath(app_dir)
    found = set()
    for module in list(sys.modules.values()):
        try:
            file = getattr(module, "__file__", None)
        except Exception:  # odd lazy-module objects may raise anything
            continue
        if not isinstance(file, str) or not file.endswith(".py"):
            continue
        path = os.path.realpath(file)
        if _in_project(path, root):
            found.add(path)
    return sorted(found)


# --- parsing the spec ---------------------------------------------------------


class _Call:
    """The part after the colon: a dotted name, and the arguments if called."""

    def __init__(
        self, text: str, path: list[str], args: tuple[Any, ...] | None, kwargs: dict[str, Any]
    ) -> None:
        self.text = text  # as the user wrote it, for messages
        self.path = path
        self.args = args  # None means "not called"
        self.kwargs = kwargs


def _malformed(spec: str, why: str) -> LoadError:
    return LoadError(f"The app spec {spec!r} is not valid ({why}); {_EXAMPLE}.")


def _split_spec(spec: str) -> tuple[str, str | None]:
    """Split into (module or file, expression after the colon or None)."""
    text = spec.strip()
    if not text:
        raise _malformed(spec, "it is empty")
    if text.endswith(".py"):
        return text, None
    # The first colon followed by a name/call wins, so colons inside literal
    # call arguments ("create_app('a:b')") and drive letters do not confuse it.
    for match in re.finditer(":", text):
        tail = text[match.end() :].strip()
        if _EXPR_RE.fullmatch(tail):
            head = text[: match.start()].strip()
            if not head:
                raise _malformed(spec, "nothing before the colon")
            return head, tail
    if ":" in text:
        tail = text.rpartition(":")[2].strip()
        why = "nothing after the colon" if not tail else f"{tail!r} is not a Python name"
        raise _malformed(spec, why)
    return text, None


def _parse_expr(expr: str, spec: str) -> _Call:
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise _malformed(spec, f"{expr!r} is not a name or a call") from None
    if not isinstance(node, ast.Call):
        path = _dotted(node)
        if path is None:
            raise _malformed(spec, f"{expr!r} is not a name or a call")
        return _Call(expr, path, None, {})
    path = _dotted(node.func)
    if path is None:
        raise _malformed(spec, f"{expr!r} does not call a plain name")
    args = tuple(_literal(arg, expr) for arg in node.args)
    kwargs = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise _not_literal(ast.unparse(keyword), expr)
        kwargs[keyword.arg] = _literal(keyword.value, expr)
    return _Call(expr, path, args, kwargs)


def _dotted(node: ast.expr) -> list[str] | None:
    """['a', 'b', 'c'] for the expression a.b.c, None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _literal(node: ast.expr, expr: str) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise _not_literal(ast.unparse(node), expr) from None


def _not_literal(arg: str, expr: str) -> LoadError:
    return LoadError(
        f"The argument {arg!r} in {expr!r} is not a literal; only literal arguments "
        "(strings, numbers, True/False/None, and lists, tuples, dicts or sets of them) "
        "are allowed in an app spec, so compute other values inside the factory."
    )


def _is_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target or os.sep in target


# --- importing ----------------------------------------------------------------


def _prepend_path(directory: str) -> None:
    if not sys.path or sys.path[0] != directory:
        sys.path.insert(0, directory)


def _import_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except LoadError:  # the module's own sentence (an example missing its framework)
        raise
    except ModuleNotFoundError as exc:
        if _is_missing_itself(exc, name):
            raise LoadError(_not_found_message(name, exc.name or name)) from None
        raise _import_failed(f"module {name!r}", exc) from exc
    except (Exception, SystemExit) as exc:
        raise _import_failed(f"module {name!r}", exc) from exc


def _is_missing_itself(exc: ModuleNotFoundError, name: str) -> bool:
    """True when the spec's module (or a parent package) is absent, as opposed to
    the user's module importing something that is absent."""
    missing = exc.name or ""
    names_it = name == missing or name.startswith(missing + ".")
    return bool(missing) and names_it and not _user_frames(exc.__traceback__)


def _not_found_message(name: str, missing: str) -> str:
    parent = missing.rpartition(".")[0]
    if not parent:
        where = f"on sys.path (searched {_short_list(sys.path, _PATH_LIMIT)})"
    else:
        package = sys.modules.get(parent)
        search = getattr(package, "__path__", None)
        if search is None:
            where = f"because {parent!r} is a module, not a package"
        else:
            where = f"in package {parent!r} (searched {_short_list(list(search), _PATH_LIMIT)})"
    what = f"module {name!r}" if missing == name else f"module {missing!r} (for {name!r})"
    return (
        f"Could not find {what} {where}; check the module name in the spec "
        "and that the app directory is the project root."
    )


def _load_file(target: str, root: str) -> ModuleType:
    if not target.endswith(".py"):
        raise LoadError(
            f"{target!r} looks like a path but not a .py file; {_EXAMPLE}, "
            "or give a Python file such as 'path/to/app.py:app'."
        )
    path = os.path.abspath(os.path.join(root, os.path.expanduser(target)))
    if not os.path.isfile(path):
        raise LoadError(
            f"The file {target!r} was not found (looked for {path}); check the path, "
            "which is relative to the app directory unless absolute."
        )
    # Sibling imports in the file ("import helpers") must resolve next to it.
    _prepend_path(os.path.dirname(path))
    stem = os.path.splitext(os.path.basename(path))[0]
    previous = sys.modules.get(stem)
    if previous is not None and _same_file(getattr(previous, "__file__", None), path):
        return previous
    spec = importlib.util.spec_from_file_location(stem, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"Python cannot import {path} as a module; check that it is a .py file.")
    module = importlib.util.module_from_spec(spec)
    # Registered before running so the file can import itself; a module of the
    # same name from another file is replaced, because the spec names this file.
    sys.modules[stem] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        _restore_module(stem, previous)
        raise _import_failed(f"file {target!r}", exc) from exc
    return module


def _restore_module(name: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def _same_file(a: str | None, b: str) -> bool:
    try:
        return a is not None and os.path.samefile(a, b)
    except OSError:
        return False


def _import_failed(what: str, exc: BaseException) -> LoadError:
    if isinstance(exc, SystemExit):
        advice = "sys.exit() ran at import time, so guard it with if __name__ == '__main__'"
    elif isinstance(exc, ModuleNotFoundError):
        advice = "install the missing package in the app's environment or fix the import"
    else:
        advice = "fix the error shown in the traceback"
    return LoadError(
        f"Importing {what} raised {_describe(exc)}; {advice}.",
        user_traceback=_user_traceback(exc),
    )


# --- finding the callable -----------------------------------------------------


def _default_app(module: ModuleType) -> Callable[..., Any]:
    """The module's app/application object, else what create_app()/make_app() returns."""
    not_callable = []
    for name in _APP_NAMES:
        obj = getattr(module, name, None)
        if obj is None:
            continue
        if callable(obj):
            return obj
        # e.g. a submodule called "app": keep looking rather than fail here.
        not_callable.append(f"{name!r} is a {_type_name(obj)}")
    for name in _FACTORY_NAMES:
        factory = getattr(module, name, None)
        if callable(factory):
            return _call_factory(factory, f"{name}()", (), {}, module)
    found = f" ({', '.join(not_callable)})" if not_callable else ""
    raise LoadError(
        f"{_describe_module(module, capital=True)} has no callable 'app' or 'application' "
        f"and no create_app() or make_app() factory{found}; {_callables_clause(module)}, "
        f"so name the WSGI callable in the spec, e.g. '{module.__name__}:NAME'."
    )


def _resolve_call(module: ModuleType, call: _Call) -> Callable[..., Any]:
    obj: Any = module
    for depth, name in enumerate(call.path):
        found = getattr(obj, name, _MISSING)
        if found is _MISSING:
            raise _missing_attribute(module, call.path[:depth], name)
        obj = found
    label = ".".join(call.path)
    if not callable(obj):
        kind = "factory" if call.args is not None else "WSGI application"
        raise LoadError(
            f"{label!r} in {_describe_module(module)} is a {_type_name(obj)}, not a callable; "
            f"point the spec at the {kind} instead."
        )
    if call.args is None:
        return obj
    return _call_factory(obj, call.text, call.args, call.kwargs, module)


def _missing_attribute(module: ModuleType, owner: list[str], name: str) -> LoadError:
    if owner:
        where = f"{'.'.join(owner)!r} in {_describe_module(module)}"
        return LoadError(
            f"{where} has no attribute {name!r}; check the attribute path in the spec."
        )
    return LoadError(
        f"{_describe_module(module, capital=True)} has no attribute {name!r}; "
        f"{_callables_clause(module)}, so check the name in the spec."
    )


def _call_factory(
    factory: Callable[..., Any],
    label: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    module: ModuleType,
) -> Callable[..., Any]:
    try:
        app = factory(*args, **kwargs)
    except (Exception, SystemExit) as exc:
        raise LoadError(
            f"Calling {label} from {_describe_module(module)} raised {_describe(exc)}; "
            "fix the error shown in the traceback.",
            user_traceback=_user_traceback(exc),
        ) from exc
    if not callable(app):
        raise LoadError(
            f"{label} from {_describe_module(module)} returned a {_type_name(app)}, "
            "not a callable; the factory must return the WSGI application."
        )
    return app


def _callables_clause(module: ModuleType) -> str:
    names = sorted(
        name for name, value in vars(module).items() if not name.startswith("_") and callable(value)
    )
    if not names:
        return "it defines no public callables"
    return f"the callables it defines are {_short_list(names, _LIST_LIMIT)}"


# --- wording helpers ----------------------------------------------------------


def _describe_module(module: ModuleType, capital: bool = False) -> str:
    file = getattr(module, "__file__", None)
    text = f"module {module.__name__!r}" + (f" ({file})" if file else "")
    return text[0].upper() + text[1:] if capital else text


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > _TEXT_LIMIT:
        text = text[: _TEXT_LIMIT - 1] + "…"
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _type_name(obj: Any) -> str:
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _short_list(items: list[str], limit: int) -> str:
    shown = [item or "." for item in items[:limit]]
    return ", ".join(shown + (["…"] if len(items) > limit else []))


# --- tracebacks ---------------------------------------------------------------


def _is_user_frame(filename: str) -> bool:
    if filename.startswith("<frozen importlib"):
        return False
    path = os.path.normcase(os.path.abspath(filename))
    return path != _HERE and os.path.dirname(path) != _IMPORTLIB_DIR


def _user_frames(tb: Any) -> list[traceback.FrameSummary]:
    return [f for f in traceback.extract_tb(tb) if _is_user_frame(f.filename)]


def _user_traceback(exc: BaseException) -> str:
    """The traceback as Python would print it, minus the loader's and importlib's
    frames; SyntaxError's file/line/caret lines are not frames, so they stay."""
    report = traceback.TracebackException.from_exception(exc)
    seen: set[int] = set()
    pending = [report]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        kept = [f for f in current.stack if _is_user_frame(f.filename)]
        current.stack = traceback.StackSummary.from_list(kept)
        linked = [
            current.__cause__,
            current.__context__,
            *(getattr(current, "exceptions", None) or []),
        ]
        pending.extend(item for item in linked if item is not None)
    return "".join(report.format())


def _in_project(path: str, root: str) -> bool:
    try:
        if os.path.commonpath([path, root]) != root:
            return False
    except ValueError:  # different drives
        return False
    directory = root
    for part in os.path.relpath(os.path.dirname(path), root).split(os.sep):
        if part in ("", os.curdir):
            continue
        directory = os.path.join(directory, part)
        # A pyvenv.cfg marks a virtual environment whatever the folder is called.
        if part in _ENV_DIRS or os.path.isfile(os.path.join(directory, "pyvenv.cfg")):
            return False
    return True
