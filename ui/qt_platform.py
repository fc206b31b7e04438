"""Before the first window: can Qt reach a display here? One sentence if not.

When Qt cannot load its platform plugin it prints several lines and aborts
the process ("Could not load the Qt platform plugin "xcb" ..."), which tells a
new user nothing they can act on. On Linux the usual causes are system
libraries the xcb plugin needs but pip cannot install (libxcb-cursor0 and
friends) and a missing display. Both are checked here without starting Qt:
the plugin is loaded the way Qt would load it, so a missing library is named
by the system's own loader, and its package is looked up in a short table.
Other systems and other platform plugins (offscreen, vnc, ...) are left to Qt.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package) for what Qt's xcb and wayland
# plugins link beyond Qt itself.
PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
}
# What the README lists: everything the xcb plugin needs that a minimal desktop may lack.
DEBIAN_ALL = ("libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 "
              "libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1 libegl1 "
              "libfontconfig1")
FEDORA_ALL = ("xcb-util-cursor libxkbcommon-x11 xcb-util-wm xcb-util-keysyms xcb-util-image "
              "xcb-util-renderutil libglvnd-egl fontconfig")
HEADLESS = "or run with --headless to record without a window"
PLUGIN_FILES = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}
_COMMON = ("libxkbcommon.so", "libEGL", "libGL", "libOpenGL", "libfontconfig", "libdbus")
PLUGIN_LIBRARIES = {"xcb": ("libxcb", "libxkbcommon-x11", "libX11", *_COMMON),
                    "wayland": ("libwayland", *_COMMON)}
DISPLAY_VARIABLE = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}
_SONAME = re.compile(r"(lib[\w.+-]+\.so[\d.]*): cannot open shared object file")


def problem() -> str | None:
    """None when Qt can open a window here (or when only Qt can tell); else one
    sentence saying what to install or do, the headless alternative included."""
    if not sys.platform.startswith("linux"):
        return None
    reasons = []
    for name in requested_platforms():
        if name not in PLUGIN_FILES:
            return None  # offscreen, vnc, eglfs...: Qt's own business
        reason = platform_problem(name)
        if reason is None:
            return None
        reasons.append(reason)
    return reasons[-1] if reasons else None


def requested_platforms() -> list[str]:
    """The platform plugins Qt will try, in order (QT_QPA_PLATFORM, else its default)."""
    given = os.environ.get("QT_QPA_PLATFORM", "")
    if given:
        return [part.split(":", 1)[0] for part in given.split(";") if part]
    if os.environ.get("XDG_SESSION_TYPE") == "wayland" or os.environ.get("WAYLAND_DISPLAY"):
        return ["wayland", "xcb"]
    return ["xcb"]


def platform_problem(name: str) -> str | None:
    plugin = find_plugin(PLUGIN_FILES[name])
    if plugin is None:
        return None  # an unusual layout: let Qt look for itself
    try:
        ctypes.CDLL(str(plugin))  # as Qt will; kept loaded, so Qt's own load is free
    except OSError as exc:
        return missing_libraries(name, str(exc))
    variable = DISPLAY_VARIABLE[name]
    if not os.environ.get(variable):
        return (f"The window needs a display, and none is set here ({variable} is empty): "
                f"start it from a desktop session, {HEADLESS}.")
    return None


def find_plugin(filename: str) -> Path | None:
    """Where Qt would find a platform plugin: its environment variables, then its own."""
    folders = [os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")]
    folders += [os.path.join(p, "platforms")
                for p in os.environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    from PySide6.QtCore import QLibraryInfo  # no platform needed to ask

    folders.append(os.path.join(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath),
                                "platforms"))
    for folder in folders:
        if folder and (Path(folder) / filename).is_file():
            return Path(folder) / filename
    return None


def missing_libraries(name: str, loader_error: str) -> str:
    """The sentence for a plugin the system's loader refused, naming what to install."""
    missing = [soname for soname in PACKAGES
               if soname.startswith(PLUGIN_LIBRARIES[name]) and not loadable(soname)]
    named = _SONAME.search(loader_error)
    if named and named.group(1) not in missing:
        missing.insert(0, named.group(1))
    known = [PACKAGES[s] for s in missing if s in PACKAGES]
    if known and len(known) == len(missing):
        debian = " ".join(dict.fromkeys(d for d, _ in known))
        fedora = " ".join(dict.fromkeys(f for _, f in known))
    else:  # something outside the table: the whole usual set
        debian, fedora = DEBIAN_ALL, FEDORA_ALL
    what = ", ".join(missing) if missing else loader_error.strip()
    return (f"The window cannot start: Qt's {name} plugin needs system libraries that are "
            f"missing ({what}); install them with 'sudo apt install {debian}' "
            f"(Debian, Ubuntu) or 'sudo dnf install {fedora}' (Fedora), {HEADLESS}.")


def loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True
