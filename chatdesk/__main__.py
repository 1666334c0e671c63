"""`python -m chatdesk`: the same start-up as the `chatdesk` command and the executable."""

import sys

from chatdesk.desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
