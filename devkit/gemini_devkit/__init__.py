"""Development kit of gemini_assets: test and demo infrastructure, never imported by the pipeline.

- ``gemini_devkit.emulator``: a local HTTP server speaking the Gemini Developer API wire protocol
  (the demo's backend and the wire-level test fixture);
- ``gemini_devkit.samples``: realistic sample uploads made on the fly (seeding, tests, benchmarks);
- ``gemini_devkit.fake_gateway``: an in-memory ModelGateway for fast unit tests.
"""
