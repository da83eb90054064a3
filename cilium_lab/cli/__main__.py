import sys

from cilium_lab.cli import main

sys.exit(main())
