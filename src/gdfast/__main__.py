import sys

from gdfast._cli import main

sys.exit(main())
