"""A table's contract derived from its row model: one declaration, three uses.

The row model (pydantic) is what stages build and read; the Arrow schema derived from it is what
is written to Parquet and what the blocking schema checks enforce; the field descriptions are the
column reference in docs/tables.md. Units live in the names (``_bytes``, ``_s``, ``_ms``,
``_usd``); timestamps are UTC-aware.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Union, get_args, get_origin

import pyarrow as pa
from pydantic import BaseModel, ConfigDict

UTC_TS = pa.timestamp("us", tz="UTC")


class Row(BaseModel):
    """Base of every table row: unknown fields are a bug, not data."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    nullable: bool
    doc: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, ...]
    doc: str
    row: type[Row]

    @property
    def columns(self) -> tuple[Column, ...]:
        return tuple(
            Column(name, *arrow_type(field.annotation), field.description or "")
            for name, field in self.row.model_fields.items()
        )

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        return list(self.row.model_fields)


def arrow_type(annotation: Any) -> tuple[pa.DataType, bool]:
    """(Arrow type, nullable) of a row field's annotation."""
    nullable = False
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union {annotation!r}: only X | None")
        annotation, nullable = args[0], True
    return _plain_type(annotation), nullable


def _plain_type(annotation: Any) -> pa.DataType:
    origin = get_origin(annotation)
    if origin is list:
        (item,) = get_args(annotation)
        return pa.list_(_plain_type(item))
    if origin is dict:
        key, value = get_args(annotation)
        return pa.map_(_plain_type(key), _plain_type(value))
    if isinstance(annotation, type):
        if issubclass(annotation, bool):  # before int: bool is an int
            return pa.bool_()
        if issubclass(annotation, StrEnum | str):
            return pa.string()
        if issubclass(annotation, int):
            return pa.int64()
        if issubclass(annotation, float):
            return pa.float64()
        if issubclass(annotation, datetime):
            return UTC_TS
        if issubclass(annotation, BaseModel):
            return pa.struct(
                [pa.field(name, *arrow_type(field.annotation)) for name, field in annotation.model_fields.items()]
            )
    raise TypeError(f"no Arrow type for {annotation!r}")
