"""Allow ``python -m introd``."""

from introd.cli import main

raise SystemExit(main())
