"""The executable's entry script (PyInstaller needs a plain script, not a package __main__)."""

import sys

from chatdesk.desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
