"""call_ledger (one row per API attempt) and daily_costs (the day's aggregates).

The ledger of a partition accumulates: a re-run that reuses cached answers makes no call, but
the calls of the earlier run were billed and stay in the books. Rows are keyed by a hash of
(media_id, attempt, start time), so rebuilding the ledger from the same model_outputs never
duplicates a row.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import pandas as pd

from gemini_assets.core.gateway.base import MODALITIES, Usage
from gemini_assets.core.gateway.pricing import PriceBook

TOKEN_COLUMNS = ["input_tokens", "output_tokens", "thinking_tokens", "cached_tokens"] + [
    f"{m}_input_tokens" for m in MODALITIES
]
DAILY_KEYS = ["model", "task", "media_kind"]


def call_id(media_id: str, attempt: int, started_at: str) -> str:
    digest = hashlib.sha256(f"{media_id}|{attempt}|{started_at}".encode()).hexdigest()[:10]
    return f"{media_id}-a{attempt}-{digest}"


def ledger_rows(
    outputs: list[dict[str, Any]], media: dict[str, dict[str, Any]], prices: PriceBook, run_id: str | None
) -> list[dict[str, Any]]:
    rows = []
    for output in outputs:
        item = media.get(output["media_id"], {})
        previous: dict[str, Any] | None = None
        for record in json.loads(output["attempts_json"]):
            usage = Usage(**record["usage"]) if record.get("usage") else None
            started = datetime.fromisoformat(record["started_at"])
            tier = record.get("service_tier") or output.get("service_tier") or "standard"
            purpose = record.get("purpose") or "generate"
            # Failed attempts are not billed by the provider: cost 0, not null.
            cost, price_id = prices.cost(output["model"], started.date(), usage, tier) if usage else (0.0, None)
            # What the same answer costs at the standard tier: daily_costs shows the batch saving.
            online_cost = cost if tier == "standard" or not usage else prices.cost(output["model"], started.date(), usage)[0]
            rows.append(
                {
                    "call_id": call_id(output["media_id"], record["attempt"], started.isoformat()),
                    "media_id": output["media_id"],
                    "task": output["task"],
                    "task_version": output["task_version"],
                    "model": output["model"],
                    "media_kind": item.get("media_kind", "unknown"),
                    "media_bytes": item.get("size_bytes"),
                    "media_duration_s": item.get("duration_s"),
                    "variant": output.get("variant") or "primary",
                    "purpose": purpose,
                    "service_tier": tier,
                    "attempt": record["attempt"],
                    "is_retry": bool(
                        previous is not None
                        and previous["status_code"] != 200
                        and (previous.get("purpose") or "generate") == purpose
                    ),
                    "status_code": record["status_code"],
                    "status": "ok" if record["status_code"] == 200 else "error",
                    "error_code": record.get("error_code"),
                    **(usage or Usage()).as_columns(),
                    "latency_ms": record["latency_ms"],
                    "started_at": started,
                    "rpm_used": record.get("rpm_used"),
                    "tpm_used": record.get("tpm_used"),
                    "rpd_used": record.get("rpd_used"),
                    "cost_usd": cost,
                    "online_cost_usd": online_cost,
                    "price_id": price_id,
                    "run_id": run_id,
                }
            )
            previous = record
    return rows


def merge_ledger(earlier: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier rows of the partition plus this run's, one row per call_id.

    A call already in the ledger keeps the run id that made it; its cost is recomputed so that
    a corrected price table reaches old rows when the ledger is rebuilt.
    """
    earlier = [_upgraded(row) for row in earlier]
    known = {row["call_id"]: row for row in earlier}
    merged = [row for row in earlier if row["call_id"] not in {r["call_id"] for r in current}]
    for row in current:
        if row["call_id"] in known:
            row = {**row, "run_id": known[row["call_id"]].get("run_id")}
        merged.append(row)
    return sorted(merged, key=lambda r: (r["started_at"], r["call_id"]))


def _upgraded(row: dict[str, Any]) -> dict[str, Any]:
    """A row written by an older release: same key rule, defaults for columns added since."""
    return {
        **row,
        "call_id": call_id(row["media_id"], row["attempt"], row["started_at"].isoformat()),
        "service_tier": row.get("service_tier") or "standard",
        # Rows from before the column existed were all standard-tier calls.
        "online_cost_usd": row["online_cost_usd"] if row.get("online_cost_usd") is not None or (row.get("service_tier") or "standard") != "standard" else row.get("cost_usd"),
        "is_retry": bool(row.get("is_retry")),
    }


def daily_costs(ledger: pd.DataFrame) -> pd.DataFrame:
    if ledger.empty:
        return pd.DataFrame(
            columns=[*DAILY_KEYS, "calls", "failed_calls", "batch_calls", "items", *TOKEN_COLUMNS, "cost_usd",
                     "cost_per_item_usd", "unpriced_calls", "online_cost_usd", "saving_usd"]
        )
    tiers = ledger["service_tier"] if "service_tier" in ledger else pd.Series("standard", index=ledger.index)
    online = ledger["online_cost_usd"] if "online_cost_usd" in ledger else ledger["cost_usd"]
    frame = ledger.assign(
        failed=ledger["status_code"] != 200,
        unpriced=ledger["cost_usd"].isna(),
        batch=tiers == "batch",
        online=online,
    )
    grouped = frame.groupby(DAILY_KEYS, dropna=False)
    result = grouped[TOKEN_COLUMNS].sum().astype("int64")
    result["calls"] = grouped.size()
    result["failed_calls"] = grouped["failed"].sum().astype("int64")
    result["items"] = grouped["media_id"].nunique()
    result["unpriced_calls"] = grouped["unpriced"].sum().astype("int64")
    # min_count=1 keeps the sum null when every attempt is unpriced; any unpriced attempt nulls the day.
    result["cost_usd"] = grouped["cost_usd"].sum(min_count=1).astype("float64")
    result.loc[result["unpriced_calls"] > 0, "cost_usd"] = None
    result["cost_per_item_usd"] = result["cost_usd"] / result["items"]
    result["batch_calls"] = grouped["batch"].sum().astype("int64")
    result["online_cost_usd"] = grouped["online"].sum(min_count=1).astype("float64")
    result.loc[result["unpriced_calls"] > 0, "online_cost_usd"] = None
    result["saving_usd"] = result["online_cost_usd"] - result["cost_usd"]
    return result.reset_index()
