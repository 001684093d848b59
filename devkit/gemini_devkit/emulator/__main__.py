"""`python -m gemini_devkit.emulator --port N --state-dir DIR`."""

from .server import main

raise SystemExit(main())
