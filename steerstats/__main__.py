import sys

from steerstats.cli import main

sys.exit(main())
