"""The frozen app's entry point: the ``wsgi-inspector`` command, window included."""

import sys

from ui.launch import main

if __name__ == "__main__":
    sys.exit(main())
