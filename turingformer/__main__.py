"""``python -m turingformer``: the command line (see :mod:`turingformer.cli`)."""

import sys

from turingformer.cli import main

if __name__ == "__main__":
    sys.exit(main())
