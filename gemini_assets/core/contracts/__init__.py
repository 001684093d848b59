"""The vocabulary every layer speaks: enums, reason codes, call types, table rows, errors.

The bottom layer of ``core``: it imports nothing else of the project, so any package may use it.
"""
