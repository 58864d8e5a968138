import sys

from llmner.cli import main

sys.exit(main())
