"""Column contracts of every warehouse table (DESIGN.md §3).

One declaration per table drives three things: the Parquet schema written to disk, the
blocking schema checks, and the column reference in the README. Units live in the names
(``_bytes``, ``_s``, ``_ms``, ``_usd``); timestamps are UTC-aware.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    nullable: bool = True
    doc: str = ""


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    doc: str

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> Column:
    return Column(name, type_, nullable, doc)


S, I, F, B = pa.string(), pa.int64(), pa.float64(), pa.bool_()

_ITEM = (
    _c("media_id", S, "stable id of one landed object (hash of day + landing path)", False),
    _c("task", S, "task the upload was made for (landing folder)", False),
)

_SIDECAR = (
    _c("uploader", S, "sidecar: who uploaded"),
    _c("consent", B, "sidecar: uploader consent to processing"),
    _c("residency", S, "sidecar: global | restricted"),
    _c("context", S, "sidecar: free text the prompt may use"),
)

_TOKENS = (
    _c("input_tokens", I, "prompt tokens (all modalities, incl. cached)"),
    _c("output_tokens", I, "candidate tokens"),
    _c("thinking_tokens", I, "thought tokens (billed as output)"),
    _c("cached_tokens", I, "cached prompt tokens"),
    _c("text_input_tokens", I, "prompt tokens of modality TEXT"),
    _c("image_input_tokens", I, "prompt tokens of modality IMAGE"),
    _c("audio_input_tokens", I, "prompt tokens of modality AUDIO"),
    _c("video_input_tokens", I, "prompt tokens of modality VIDEO"),
    _c("document_input_tokens", I, "prompt tokens of modality DOCUMENT"),
)

TABLES: dict[str, TableSpec] = {}


def _table(name: str, key: tuple[str, ...], doc: str, *columns: Column) -> TableSpec:
    spec = TableSpec(name, key, tuple(columns), doc)
    TABLES[name] = spec
    return spec


RAW_MEDIA = _table(
    "raw_media", ("media_id",), "one row per file landed in landing/<day>/<task>/",
    *_ITEM,
    _c("landing_key", S, "storage key of the upload", False),
    _c("file_name", S, "file name as uploaded", False),
    _c("extension", S, "lower-case extension without dot"),
    _c("size_bytes", I, "size of the upload", False),
    _c("sha256", S, "hex SHA-256 of the content", False),
    _c("sidecar_status", S, "present | missing | invalid", False),
    _c("sidecar_problem", S, "why the sidecar is invalid (empty otherwise)"),
    *_SIDECAR,
    _c("landed_at", UTC_TS, "when the object was written to landing/"),
)

VALIDATED_MEDIA = _table(
    "validated_media", ("media_id",), "accepted uploads with probe results",
    *_ITEM,
    _c("sha256", S, "hex SHA-256 of the content", False),
    _c("media_kind", S, "image | audio | video | document", False),
    _c("mime_type", S, "MIME type sniffed from the content", False),
    _c("extension", S, "lower-case extension without dot"),
    _c("size_bytes", I, "size of the original", False),
    _c("storage_key", S, "content-addressed key of the original under media/", False),
    _c("width", I, "pixels"),
    _c("height", I, "pixels"),
    _c("frames", I, "image frames / video frames"),
    _c("duration_s", F, "audio/video duration, seconds"),
    _c("codecs", S, "comma-separated codec names"),
    _c("bitrate", I, "bits per second"),
    _c("sample_rate", I, "audio samples per second"),
    _c("channels", I, "audio channels"),
    _c("pages", I, "PDF pages"),
    *_SIDECAR,
    _c("validated_at", UTC_TS, "validation time"),
)

QUARANTINED_MEDIA = _table(
    "quarantined_media", ("media_id",), "rejected uploads with a reason",
    *_ITEM,
    _c("sha256", S, "hex SHA-256 of the content", False),
    _c("landing_key", S, "storage key of the upload", False),
    _c("file_name", S, "file name as uploaded", False),
    _c("size_bytes", I, "size of the upload", False),
    _c("sniffed_mime", S, "MIME type seen in the content, if any"),
    _c("reason_code", S, "enumerated reason (README: reason codes)", False),
    _c("reason_detail", S, "human explanation", False),
    _c("quarantine_key", S, "where the rejected bytes and reason record are kept", False),
    _c("quarantined_at", UTC_TS, "quarantine time"),
)

GEMINI_FILES = _table(
    "gemini_files", ("media_id",), "how each accepted item reaches the model",
    *_ITEM,
    _c("sha256", S, "hex SHA-256 of the content", False),
    _c("model", S, "model the item is routed to", False),
    _c("variant", S, "route variant: primary | challenger (A/B)", False),
    _c("delivery", S, "inline | files_api | cached (earlier output reused, nothing sent) | blocked (nothing sent)", False),
    _c("endpoint", S, "global | in_region (residency: restricted) | none (blocked)", False),
    _c("sanitized_key", S, "the metadata-stripped copy that is sent (sanitized/...); the original is never sent"),
    _c("decision_reason", S, "why this delivery was chosen", False),
    _c("remote_name", S, "files/<id> on the provider"),
    _c("remote_uri", S, "file URI used in the request"),
    _c("remote_state", S, "PROCESSING | ACTIVE | FAILED"),
    _c("upload_bytes", I, "bytes sent to the Files API"),
    _c("uploaded_at", UTC_TS, "upload time"),
    _c("expires_at", UTC_TS, "provider-side expiry (48 h after upload)"),
    _c("error", S, "upload error, if any"),
)

MODEL_OUTPUTS = _table(
    "model_outputs", ("media_id",), "one row per item: the model's final answer and its usage",
    *_ITEM,
    _c("sha256", S, "hex SHA-256 of the content", False),
    _c("task_version", S, "task catalog version", False),
    _c("prompt_hash", S, "hash of prompt + schema", False),
    _c("model", S, "model called", False),
    _c("variant", S, "route variant: primary | challenger (A/B)", False),
    _c("status", S, "ok | api_error | blocked | upload_failed | model_unavailable | budget_exceeded | residency_blocked | sanitize_failed", False),
    _c("finish_reason", S, "provider finish reason of the last attempt"),
    _c("block_reason", S, "prompt feedback block reason"),
    _c("raw_text", S, "raw text of the last answer"),
    _c("parsed_json", S, "answer validated against the task schema, as JSON"),
    _c("parse_status", S, "valid | repaired | invalid | none", False),
    _c("parse_error", S, "why the answer did not validate"),
    _c("error_code", S, "API error status of the last attempt"),
    _c("error_message", S, "API error message of the last attempt (secrets removed)"),
    _c("attempts", I, "API attempts made for this item in this run", False),
    _c("from_cache", B, "output reused from an earlier run, no call made", False),
    *_TOKENS,
    _c("latency_ms", F, "summed latency of this run's attempts"),
    _c("response_id", S, "provider response id"),
    _c("attempts_json", S, "JSON list of per-attempt records (source of call_ledger)", False),
    _c("completed_at", UTC_TS, "completion time"),
)

VALIDATED_RECORDS = _table(
    "validated_records", ("media_id",), "valid typed outputs",
    *_ITEM,
    _c("sha256", S, "hex SHA-256 of the content", False),
    _c("task_version", S, "task catalog version", False),
    _c("prompt_hash", S, "hash of prompt + schema", False),
    _c("model", S, "model that produced the record", False),
    _c("variant", S, "route variant: primary | challenger (A/B)", False),
    _c("confidence", F, "model-reported confidence 0..1"),
    _c("record_json", S, "the validated record (task schema) as JSON", False),
    _c("flags", S, "comma-separated filter findings, e.g. pii:email@description (values redacted)"),
    _c("source", S, "model | review (approved or edited by a person)", False),
    _c("reviewed_by", S, "reviewer, when source = review"),
    _c("recorded_at", UTC_TS, "record time"),
)

REVIEW_QUEUE = _table(
    "review_queue", ("media_id",), "everything a person must look at",
    *_ITEM,
    _c("sha256", S, "hex SHA-256 of the content", False),
    _c("stage", S, "pipeline stage that sent it: files | model | validation", False),
    _c("reason_code", S, "enumerated reason (README: reason codes)", False),
    _c("reason_detail", S, "human explanation", False),
    _c("model", S, "model involved"),
    _c("task_version", S, "task catalog version"),
    _c("raw_text", S, "model answer, if any"),
    _c("candidate_json", S, "the schema-valid answer, if there is one (approve publishes it)"),
    _c("review_status", S, "pending | rejected", False),
    _c("reviewed_by", S, "reviewer of the latest decision"),
    _c("reviewed_at", UTC_TS, "time of the latest decision"),
    _c("queued_at", UTC_TS, "time queued"),
)

CALL_LEDGER = _table(
    "call_ledger", ("call_id",),
    "one row per API attempt, failed ones included; the `date=` folder is the upload day processed, "
    "`started_at` the moment of the call (billing days follow `started_at`)",
    _c("call_id", S, "hash of media_id, attempt and start time: stable when the ledger is rebuilt", False),
    *_ITEM,
    _c("task_version", S, "task catalog version", False),
    _c("model", S, "model called", False),
    _c("media_kind", S, "image | audio | video | document", False),
    _c("media_bytes", I, "size of the media sent"),
    _c("media_duration_s", F, "audio/video duration, seconds"),
    _c("variant", S, "route variant: primary | challenger (A/B)", False),
    _c("purpose", S, "generate | repair (the one retry after an invalid answer)", False),
    _c("service_tier", S, "standard | batch | flex (batch and flex are billed at a discount)", False),
    _c("attempt", I, "1-based attempt number for the item in its run (attempt - 1 calls came before)", False),
    _c("is_retry", B, "the previous attempt of the same request failed: this is a retry", False),
    _c("status_code", I, "HTTP status (0 = no response: timeout, connection)", False),
    _c("status", S, "ok | error", False),
    _c("error_code", S, "API error status"),
    *_TOKENS,
    _c("latency_ms", F, "request latency"),
    _c("started_at", UTC_TS, "request start", False),
    _c("rpm_used", I, "requests in the model's current minute window when the call was made"),
    _c("tpm_used", I, "tokens in the model's current minute window when the call was made"),
    _c("rpd_used", I, "requests in the model's current day when the call was made"),
    _c("cost_usd", F, "USD cost of the attempt (0 for failed attempts: not billed; null when the price is unknown)"),
    _c("online_cost_usd", F, "what the attempt would cost at the standard (online) tier; = cost_usd for online calls"),
    _c("price_id", S, "pricing row used: <model>@<valid_from>[/<tier>] (prices.csv)"),
    _c("run_id", S, "Dagster run that made the call"),
)

DAILY_COSTS = _table(
    "daily_costs", ("model", "task", "media_kind"), "cost per model x task x media kind for the day",
    _c("model", S, "model", False),
    _c("task", S, "task", False),
    _c("media_kind", S, "media kind", False),
    _c("calls", I, "API attempts", False),
    _c("failed_calls", I, "attempts that did not return 200", False),
    _c("batch_calls", I, "attempts served by the Batch API (service_tier = batch)", False),
    _c("items", I, "distinct items", False),
    *_TOKENS,
    _c("cost_usd", F, "sum of priced attempts (null if any attempt is unpriced)"),
    _c("cost_per_item_usd", F, "cost_usd / items"),
    _c("unpriced_calls", I, "attempts with unknown price", False),
    _c("online_cost_usd", F, "the same calls priced at the standard (online) tier"),
    _c("saving_usd", F, "online_cost_usd - cost_usd: what batch mode saved"),
)

GEMINI_BATCHES = _table(
    "gemini_batches", ("batch_name",),
    "Batch API jobs used for the day's items (mode batch), from the records under batches/<day>/",
    _c("batch_name", S, "batches/<id> on the provider", False),
    _c("display_name", S, "gemini_assets <day> <model> <key>: how a crash before the record was written is recovered", False),
    _c("batch_key", S, "hash of day, model and items (content + prompt): same key = same batch, never resubmitted", False),
    _c("model", S, "model of every request in the batch", False),
    _c("items", I, "requests (one per item, keyed by media_id)", False),
    _c("input_mode", S, "inline (< 20 MB) | file (JSONL through the Files API) | unknown (recovered by name)", False),
    _c("input_file", S, "files/<id> of the JSONL input"),
    _c("request_bytes", I, "size of the requests as JSONL"),
    _c("state", S, "JOB_STATE_PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED | EXPIRED (last seen)", False),
    _c("retired", B, "the batch failed/expired/was cancelled and its items were submitted again", False),
    _c("submitted_at", UTC_TS, "batch creation time", False),
    _c("completed_at", UTC_TS, "batch end time"),
    _c("wait_s", F, "completed_at - submitted_at"),
    _c("polls", I, "batches.get calls made while waiting (all runs)", False),
    _c("resumed", I, "runs that found the batch already submitted and resumed waiting", False),
    _c("succeeded_lines", I, "lines with an answer", False),
    _c("failed_lines", I, "lines with an error object", False),
    _c("missing_lines", I, "items without a line in the results", False),
    _c("run_id", S, "Dagster run that submitted the batch"),
    _c("record_key", S, "storage key of the JSON record under batches/<day>/", False),
)

BILLING_RECONCILIATION = _table(
    "billing_reconciliation", ("model",),
    "the provider's billing export against call_ledger, per usage day (UTC, the `date=` folder) and model",
    _c("model", S, "model (billing rows mapped by their model column or SKU description)", False),
    _c("status", S, "match | mismatch | missing_in_billing | missing_in_ledger | unpriced | awaiting_billing", False),
    _c("ledger_usd", F, "sum of call_ledger cost_usd of calls started that day (null if any is unpriced)"),
    _c("billing_usd", F, "sum of the billing export's cost for that day and model, USD, before credits"),
    _c("credits_usd", F, "credits in the billing export (negative), not part of the comparison"),
    _c("diff_usd", F, "billing_usd - ledger_usd"),
    _c("diff_pct", F, "diff_usd / ledger_usd * 100 (null when the ledger is 0)"),
    _c("tolerance_pct", F, "relative tolerance applied, percent", False),
    _c("tolerance_abs_usd", F, "absolute tolerance applied (rounding), USD", False),
    _c("ledger_calls", I, "ledger attempts started that day", False),
    _c("unpriced_calls", I, "ledger attempts without a price", False),
    _c("billing_rows", I, "billing export rows for that day and model", False),
    _c("billing_files", S, "billing/ files that contributed"),
    _c("checked_at", UTC_TS, "when the comparison ran"),
)
