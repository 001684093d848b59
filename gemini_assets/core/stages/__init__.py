"""The pipeline steps as plain functions: the only place that composes the core packages.

One module per step (intake, deliver, answer, validate, account); the Dagster layer (defs/)
calls these and nothing below them, so every step runs and is tested without Dagster.
"""
