#!/usr/bin/env bash
# Build the desktop app, one folder at dist/wsgi-inspector/ (PyInstaller), then smoke-test it.
#   bash packaging/build.sh        (from the project root of a fresh clone; needs python3 >= 3.9)
# Its own virtualenv (build/packaging-venv) holds the project as a wheel would install it
# and the pinned PyInstaller; PYTHON=... picks another interpreter to build with.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV=build/packaging-venv

"$PYTHON" -m venv --clear "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r packaging/requirements.txt .
rm -rf dist/wsgi-inspector build/pyinstaller
"$VENV/bin/pyinstaller" --noconfirm --log-level ERROR --distpath dist \
    --workpath build/pyinstaller packaging/wsgi-inspector.spec
"$VENV/bin/python" packaging/smoke.py dist/wsgi-inspector/wsgi-inspector
echo "built dist/wsgi-inspector/: $(du -sh dist/wsgi-inspector | cut -f1)"
