"""`python -m gemini_assets.emulator --port N --state-dir DIR`."""

from .server import main

raise SystemExit(main())
