import sys

from steerstats.cli import main

if __name__ == "__main__":  # worker processes started by spawn re-import this module: they must not run the CLI
    sys.exit(main())
