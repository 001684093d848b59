"""call_ledger (one row per API attempt) and daily_costs (the day's aggregates)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd

from gemini_assets.core.gateway.base import MODALITIES, Usage
from gemini_assets.core.gateway.pricing import PriceBook

TOKEN_COLUMNS = ["input_tokens", "output_tokens", "thinking_tokens", "cached_tokens"] + [
    f"{m}_input_tokens" for m in MODALITIES
]


def ledger_rows(
    outputs: list[dict[str, Any]], media: dict[str, dict[str, Any]], prices: PriceBook, run_id: str | None
) -> list[dict[str, Any]]:
    rows = []
    for output in outputs:
        item = media.get(output["media_id"], {})
        for record in json.loads(output["attempts_json"]):
            usage = Usage(**record["usage"]) if record.get("usage") else None
            started = datetime.fromisoformat(record["started_at"])
            cost, price_id = prices.cost(output["model"], started.date(), usage) if usage else (0.0, None)
            if usage is not None and cost is None:
                price_id = None
            rows.append(
                {
                    "call_id": f"{output['media_id']}-{record['attempt']}",
                    "media_id": output["media_id"],
                    "task": output["task"],
                    "task_version": output["task_version"],
                    "model": output["model"],
                    "media_kind": item.get("media_kind", "unknown"),
                    "media_bytes": item.get("size_bytes"),
                    "media_duration_s": item.get("duration_s"),
                    "variant": output.get("variant") or "primary",
                    "purpose": record.get("purpose") or "generate",
                    "attempt": record["attempt"],
                    "status_code": record["status_code"],
                    "status": "ok" if record["status_code"] == 200 else "error",
                    "error_code": record.get("error_code"),
                    **(usage or Usage()).as_columns(),
                    "latency_ms": record["latency_ms"],
                    "started_at": started,
                    "rpm_used": record.get("rpm_used"),
                    "tpm_used": record.get("tpm_used"),
                    "rpd_used": record.get("rpd_used"),
                    # Failed attempts are not billed by the provider: cost 0, not null.
                    "cost_usd": cost,
                    "price_id": price_id,
                    "run_id": run_id,
                }
            )
    return rows


def daily_costs(ledger: pd.DataFrame) -> pd.DataFrame:
    keys = ["model", "task", "media_kind"]
    if ledger.empty:
        return pd.DataFrame(columns=[*keys, "calls", "failed_calls", "items", *TOKEN_COLUMNS, "cost_usd", "cost_per_item_usd", "unpriced_calls"])
    frame = ledger.assign(
        failed=ledger["status_code"] != 200,
        unpriced=ledger["cost_usd"].isna(),
    )
    grouped = frame.groupby(keys, dropna=False)
    result = grouped[TOKEN_COLUMNS].sum().astype("int64")
    result["calls"] = grouped.size()
    result["failed_calls"] = grouped["failed"].sum().astype("int64")
    result["items"] = grouped["media_id"].nunique()
    result["unpriced_calls"] = grouped["unpriced"].sum().astype("int64")
    # min_count=1 keeps the sum null when every attempt is unpriced; any unpriced attempt nulls the day.
    result["cost_usd"] = grouped["cost_usd"].sum(min_count=1)
    result.loc[result["unpriced_calls"] > 0, "cost_usd"] = None
    result["cost_per_item_usd"] = result["cost_usd"] / result["items"]
    return result.reset_index()
