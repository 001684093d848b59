"""Every warehouse table: its row model next to its TableSpec (DESIGN.md §3).

Column names are an analyst contract: a column is never renamed or removed, new ones are added
with a default so that older partitions still read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from gemini_assets.core.contracts.calls import Attempt
from gemini_assets.core.contracts.enums import (
    Backend,
    CallMode,
    CallPurpose,
    CallStatus,
    DeliveryMode,
    Endpoint,
    MediaKind,
    OutputStatus,
    ParseStatus,
    Provider,
    ReconciliationStatus,
    RecordSource,
    Residency,
    ReviewStage,
    ReviewStatus,
    ServiceTier,
    SidecarStatus,
    Variant,
)
from gemini_assets.core.contracts.reasons import QuarantineReason, ReviewReason
from gemini_assets.core.contracts.schema import Row, TableSpec

TABLES: dict[str, TableSpec] = {}


def _table(name: str, key: tuple[str, ...], doc: str, row: type[Row]) -> TableSpec:
    spec = TableSpec(name, key, doc, row)
    TABLES[name] = spec
    return spec


def _media_id() -> Any:
    return Field(description="stable id of one landed object (hash of day + landing path)")


def _sha256() -> Any:
    return Field(description="hex SHA-256 of the content")


_TASK = "task the upload was made for (landing folder)"


_TOKEN_DOCS = {
    "input_tokens": "prompt tokens (all modalities, incl. cached)",
    "output_tokens": "candidate tokens",
    "thinking_tokens": "thought tokens (billed as output)",
    "cached_tokens": "cached prompt tokens",
    "text_input_tokens": "prompt tokens of modality TEXT",
    "image_input_tokens": "prompt tokens of modality IMAGE",
    "audio_input_tokens": "prompt tokens of modality AUDIO",
    "video_input_tokens": "prompt tokens of modality VIDEO",
    "document_input_tokens": "prompt tokens of modality DOCUMENT",
}


def _tokens(name: str) -> Any:
    return Field(default=0, description=_TOKEN_DOCS[name])


# ---- media -------------------------------------------------------------------------------------
class RawMediaRow(Row):
    media_id: str = _media_id()
    task: str = Field(description=_TASK)
    landing_key: str = Field(description="storage key of the upload")
    file_name: str = Field(description="file name as uploaded")
    extension: str | None = Field(default=None, description="lower-case extension without dot")
    size_bytes: int = Field(description="size of the upload")
    sha256: str = _sha256()
    sidecar_status: SidecarStatus = Field(description="present | missing | invalid")
    sidecar_problem: str | None = Field(default=None, description="why the sidecar is invalid (empty otherwise)")
    uploader: str | None = Field(default=None, description="sidecar: who uploaded")
    consent: bool | None = Field(default=None, description="sidecar: uploader consent to processing")
    residency: Residency | None = Field(default=None, description="sidecar: global | restricted")
    context: str | None = Field(default=None, description="sidecar: free text the prompt may use")
    landed_at: datetime | None = Field(default=None, description="when the object was written to landing/")
    object_type: str = Field(
        default="file",
        description="file | symlink | fifo | socket | device | other: only regular files are ever read",
    )
    name_problem: str | None = Field(
        default=None,
        description="why the name cannot be used as a storage key (bytes that are not UTF-8, shown in "
        "landing_key as \\x escapes): such a file is never opened and stays in landing/; empty otherwise",
    )


class ValidatedMediaRow(Row):
    media_id: str = _media_id()
    task: str = Field(description=_TASK)
    sha256: str = _sha256()
    media_kind: MediaKind = Field(description="image | audio | video | document")
    mime_type: str = Field(description="MIME type sniffed from the content")
    extension: str | None = Field(default=None, description="lower-case extension without dot")
    size_bytes: int = Field(description="size of the original")
    storage_key: str = Field(description="content-addressed key of the original under media/")
    width: int | None = Field(default=None, description="pixels")
    height: int | None = Field(default=None, description="pixels")
    frames: int | None = Field(default=None, description="image frames / video frames")
    duration_s: float | None = Field(default=None, description="audio/video duration, seconds")
    codecs: str | None = Field(default=None, description="comma-separated codec names")
    bitrate: int | None = Field(default=None, description="bits per second")
    sample_rate: int | None = Field(default=None, description="audio samples per second")
    channels: int | None = Field(default=None, description="audio channels")
    pages: int | None = Field(default=None, description="PDF pages")
    uploader: str | None = Field(default=None, description="sidecar: who uploaded")
    consent: bool | None = Field(default=None, description="sidecar: uploader consent to processing")
    residency: Residency | None = Field(default=None, description="sidecar: global | restricted")
    context: str | None = Field(default=None, description="sidecar: free text the prompt may use")
    validated_at: datetime | None = Field(default=None, description="validation time")


class QuarantinedMediaRow(Row):
    media_id: str = _media_id()
    task: str = Field(description=_TASK)
    sha256: str = _sha256()
    landing_key: str = Field(description="storage key of the upload")
    file_name: str = Field(description="file name as uploaded")
    size_bytes: int = Field(description="size of the upload")
    sniffed_mime: str | None = Field(default=None, description="MIME type seen in the content, if any")
    reason_code: QuarantineReason = Field(description="enumerated reason (docs/tables.md: reason codes)")
    reason_detail: str = Field(description="human explanation")
    quarantine_key: str = Field(description="where the rejected bytes and reason record are kept")
    quarantined_at: datetime | None = Field(default=None, description="quarantine time")


# ---- model -------------------------------------------------------------------------------------
class DeliveryPlan(Row):
    """How one accepted item reaches the model: decided once in gemini_files, obeyed in model_outputs."""

    media_id: str = _media_id()
    task: str = Field(description=_TASK)
    sha256: str = _sha256()
    model: str = Field(description="model the item is routed to")
    variant: Variant = Field(description="route variant: primary | challenger (A/B) | golden (golden-set evaluation)")
    delivery: DeliveryMode = Field(
        description="inline | files_api | cached (earlier output reused, nothing sent) | blocked (nothing sent)"
    )
    endpoint: Endpoint = Field(description="global | in_region (residency: restricted) | none (blocked)")
    sanitized_key: str | None = Field(
        default=None, description="the metadata-stripped copy that is sent (sanitized/...); the original is never sent"
    )
    decision_reason: str = Field(description="why this delivery was chosen")
    sanitize_notes: str | None = Field(
        default=None,
        description="what stripping dropped besides metadata, e.g. an MPO's appended images or a trailer "
        "(the primary image is kept byte for byte); null when nothing",
    )
    remote_name: str | None = Field(default=None, description="files/<id> on the provider")
    remote_uri: str | None = Field(default=None, description="file URI used in the request")
    remote_state: str | None = Field(default=None, description="PROCESSING | ACTIVE | FAILED")
    upload_bytes: int | None = Field(default=None, description="size of the file sent to the Files API")
    upload_bytes_sent: int | None = Field(
        default=None,
        description="bytes put on the wire for the upload, chunks cut by the network and restarts included "
        "(compare with upload_bytes)",
    )
    upload_resumes: int | None = Field(
        default=None, description="times the upload continued at the server's committed offset after a failure"
    )
    upload_sessions: int | None = Field(
        default=None, description="upload sessions used: more than 1 when a session was lost and started over"
    )
    uploaded_at: datetime | None = Field(default=None, description="upload time")
    expires_at: datetime | None = Field(default=None, description="provider-side expiry (48 h after upload)")
    error: str | None = Field(default=None, description="upload error, if any")
    route: str | None = Field(default=None, description="routing rule that chose the model (routes.yaml name)")
    mode: CallMode = Field(default=CallMode.ONLINE, description="online | batch: how model_outputs calls the model")
    blocked_status: OutputStatus | None = Field(
        default=None, description="delivery = blocked: residency_blocked | sanitize_failed | unsupported_by_model"
    )
    backend: Backend | None = Field(default=None, description="gemini | emulator: who the item was planned for")
    provider: Provider | None = Field(default=None, description="API family of the model: gemini | openai | anthropic")

    @property
    def sendable(self) -> bool:
        """Inline, or a Files API handle that is ACTIVE: a call can be made."""
        if self.delivery == DeliveryMode.INLINE:
            return True
        return self.delivery == DeliveryMode.FILES_API and bool(self.remote_uri) and self.remote_state == "ACTIVE"


class ModelOutputRow(Row):
    media_id: str = _media_id()
    task: str = Field(description=_TASK)
    sha256: str = _sha256()
    task_version: str = Field(description="task catalog version")
    prompt_hash: str = Field(description="hash of prompt + schema")
    model: str = Field(description="model called")
    variant: Variant = Field(description="route variant: primary | challenger (A/B) | golden (golden-set evaluation)")
    status: OutputStatus = Field(
        description="ok | api_error | blocked | upload_failed | model_unavailable | budget_exceeded | "
        "residency_blocked | sanitize_failed"
    )
    finish_reason: str | None = Field(default=None, description="provider finish reason of the last attempt")
    block_reason: str | None = Field(default=None, description="prompt feedback block reason")
    raw_text: str | None = Field(default=None, description="raw text of the last answer")
    parsed_json: str | None = Field(default=None, description="answer validated against the task schema, as JSON")
    parse_status: ParseStatus = Field(description="valid | repaired | invalid | none")
    parse_error: str | None = Field(default=None, description="why the answer did not validate")
    error_code: str | None = Field(default=None, description="API error status of the last attempt")
    error_message: str | None = Field(
        default=None, description="API error message of the last attempt (secrets removed)"
    )
    attempts: int = Field(description="API attempts made for this item in this run")
    from_cache: bool = Field(description="output reused from an earlier run, no call made")
    input_tokens: int | None = _tokens("input_tokens")
    output_tokens: int | None = _tokens("output_tokens")
    thinking_tokens: int | None = _tokens("thinking_tokens")
    cached_tokens: int | None = _tokens("cached_tokens")
    text_input_tokens: int | None = _tokens("text_input_tokens")
    image_input_tokens: int | None = _tokens("image_input_tokens")
    audio_input_tokens: int | None = _tokens("audio_input_tokens")
    video_input_tokens: int | None = _tokens("video_input_tokens")
    document_input_tokens: int | None = _tokens("document_input_tokens")
    latency_ms: float | None = Field(default=None, description="summed latency of this run's attempts")
    response_id: str | None = Field(default=None, description="provider response id")
    attempts_json: str = Field(
        default="[]", description="the attempt log as JSON text (kept for existing queries; prefer attempt_log)"
    )
    completed_at: datetime | None = Field(default=None, description="completion time")
    attempt_log: list[Attempt] = Field(
        default_factory=list,
        description="every API attempt of this run as a typed struct (source of call_ledger)",
    )
    backend: Backend | None = Field(default=None, description="gemini | emulator: who answered")
    provider: Provider | None = Field(default=None, description="API family that answered: gemini | openai | anthropic")
    mode: CallMode | None = Field(
        default=None, description="online | batch: how the item was called (its plan's mode, or the run's gemini.mode)"
    )
    route: str | None = Field(default=None, description="routing rule that chose the model (routes.yaml name)")


# ---- records -----------------------------------------------------------------------------------
class ValidatedRecordRow(Row):
    media_id: str = _media_id()
    task: str = Field(description=_TASK)
    sha256: str = _sha256()
    task_version: str = Field(description="task catalog version")
    prompt_hash: str = Field(description="hash of prompt + schema")
    model: str = Field(description="model that produced the record")
    variant: Variant = Field(description="route variant: primary | challenger (A/B) | golden (golden-set evaluation)")
    confidence: float | None = Field(default=None, description="model-reported confidence 0..1")
    record_json: str = Field(description="the validated record (task schema) as JSON")
    flags: str | None = Field(
        default=None, description="comma-separated filter findings, e.g. pii:email@description (values redacted)"
    )
    source: RecordSource = Field(description="model | review (approved or edited by a person)")
    reviewed_by: str | None = Field(default=None, description="reviewer, when source = review")
    recorded_at: datetime | None = Field(default=None, description="record time")


class ReviewQueueRow(Row):
    media_id: str = _media_id()
    task: str = Field(description=_TASK)
    sha256: str = _sha256()
    stage: ReviewStage = Field(description="pipeline stage that sent it: files | model | validation")
    reason_code: ReviewReason = Field(description="enumerated reason (docs/tables.md: reason codes)")
    reason_detail: str = Field(description="human explanation")
    model: str | None = Field(default=None, description="model involved")
    task_version: str | None = Field(default=None, description="task catalog version")
    raw_text: str | None = Field(default=None, description="model answer, if any")
    candidate_json: str | None = Field(
        default=None, description="the schema-valid answer, if there is one (approve publishes it)"
    )
    review_status: ReviewStatus = Field(description="pending | rejected")
    reviewed_by: str | None = Field(default=None, description="reviewer of the latest decision")
    reviewed_at: datetime | None = Field(default=None, description="time of the latest decision")
    queued_at: datetime | None = Field(default=None, description="time queued")


# ---- costs -------------------------------------------------------------------------------------
class CallLedgerRow(Row):
    call_id: str = Field(description="hash of media_id, attempt and start time: stable when the ledger is rebuilt")
    media_id: str = _media_id()
    task: str = Field(description=_TASK)
    task_version: str = Field(description="task catalog version")
    model: str = Field(description="model called")
    media_kind: str = Field(description="image | audio | video | document")
    media_bytes: int | None = Field(default=None, description="size of the media sent")
    media_duration_s: float | None = Field(default=None, description="audio/video duration, seconds")
    variant: Variant = Field(description="route variant: primary | challenger (A/B) | golden (golden-set evaluation)")
    purpose: CallPurpose = Field(description="generate | repair (the one retry after an invalid answer)")
    service_tier: ServiceTier = Field(description="standard | batch | flex (batch and flex are billed at a discount)")
    attempt: int = Field(description="1-based attempt number for the item in its run (attempt - 1 calls came before)")
    is_retry: bool = Field(description="the previous attempt of the same request failed: this is a retry")
    status_code: int = Field(description="HTTP status (0 = no response: timeout, connection)")
    status: CallStatus = Field(description="ok | error")
    error_code: str | None = Field(default=None, description="API error status")
    input_tokens: int | None = _tokens("input_tokens")
    output_tokens: int | None = _tokens("output_tokens")
    thinking_tokens: int | None = _tokens("thinking_tokens")
    cached_tokens: int | None = _tokens("cached_tokens")
    text_input_tokens: int | None = _tokens("text_input_tokens")
    image_input_tokens: int | None = _tokens("image_input_tokens")
    audio_input_tokens: int | None = _tokens("audio_input_tokens")
    video_input_tokens: int | None = _tokens("video_input_tokens")
    document_input_tokens: int | None = _tokens("document_input_tokens")
    latency_ms: float | None = Field(default=None, description="request latency")
    started_at: datetime = Field(description="request start")
    rpm_used: int | None = Field(
        default=None, description="requests in the model's current minute window when the call was made"
    )
    tpm_used: int | None = Field(
        default=None, description="tokens in the model's current minute window when the call was made"
    )
    rpd_used: int | None = Field(default=None, description="requests in the model's current day when the call was made")
    cost_usd: float | None = Field(
        default=None,
        description="USD cost of the attempt (0 for failed attempts: not billed; null when the price is unknown)",
    )
    online_cost_usd: float | None = Field(
        default=None,
        description="what the attempt would cost at the standard (online) tier; = cost_usd for online calls",
    )
    price_id: str | None = Field(
        default=None, description="pricing row used: <model>@<valid_from>[/<tier>] (prices.csv)"
    )
    run_id: str | None = Field(default=None, description="Dagster run that made the call")
    backend: Backend | None = Field(default=None, description="gemini | emulator: who answered (null: older rows)")
    provider: Provider | None = Field(default=None, description="API family called: gemini | openai | anthropic")


class DailyCostsRow(Row):
    model: str = Field(description="model")
    task: str = Field(description="task")
    media_kind: str = Field(description="media kind")
    calls: int = Field(description="API attempts")
    failed_calls: int = Field(description="attempts that did not return 200")
    batch_calls: int = Field(description="attempts served by the Batch API (service_tier = batch)")
    items: int = Field(description="distinct items")
    input_tokens: int | None = _tokens("input_tokens")
    output_tokens: int | None = _tokens("output_tokens")
    thinking_tokens: int | None = _tokens("thinking_tokens")
    cached_tokens: int | None = _tokens("cached_tokens")
    text_input_tokens: int | None = _tokens("text_input_tokens")
    image_input_tokens: int | None = _tokens("image_input_tokens")
    audio_input_tokens: int | None = _tokens("audio_input_tokens")
    video_input_tokens: int | None = _tokens("video_input_tokens")
    document_input_tokens: int | None = _tokens("document_input_tokens")
    cost_usd: float | None = Field(default=None, description="sum of priced attempts (null if any attempt is unpriced)")
    cost_per_item_usd: float | None = Field(default=None, description="cost_usd / items")
    unpriced_calls: int = Field(description="attempts with unknown price")
    online_cost_usd: float | None = Field(
        default=None, description="the same calls priced at the standard (online) tier"
    )
    saving_usd: float | None = Field(default=None, description="online_cost_usd - cost_usd: what batch mode saved")


class GeminiBatchRow(Row):
    batch_name: str = Field(description="batches/<id> on the provider")
    display_name: str = Field(
        description="gemini_assets <day> <model> <key>: how a crash before the record was written is recovered"
    )
    batch_key: str = Field(
        description="hash of day, model and items (content + prompt): same key = same batch, never resubmitted"
    )
    model: str = Field(description="model of every request in the batch")
    items: int = Field(description="requests (one per item, keyed by media_id)")
    input_mode: str = Field(
        description="inline (< 20 MB) | file (JSONL through the Files API) | unknown (recovered by name)"
    )
    input_file: str | None = Field(default=None, description="files/<id> of the JSONL input")
    request_bytes: int | None = Field(default=None, description="size of the requests as JSONL")
    state: str = Field(description="JOB_STATE_PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED | EXPIRED (last seen)")
    retired: bool = Field(description="the batch failed/expired/was cancelled and its items were submitted again")
    submitted_at: datetime = Field(description="batch creation time")
    completed_at: datetime | None = Field(default=None, description="batch end time")
    wait_s: float | None = Field(default=None, description="completed_at - submitted_at")
    polls: int = Field(description="batches.get calls made while waiting (all runs)")
    resumed: int = Field(description="runs that found the batch already submitted and resumed waiting")
    succeeded_lines: int = Field(description="lines with an answer")
    failed_lines: int = Field(description="lines with an error object")
    missing_lines: int = Field(description="items without a line in the results")
    run_id: str | None = Field(default=None, description="Dagster run that submitted the batch")
    record_key: str = Field(description="storage key of the JSON record under batches/<day>/")


class BillingReconciliationRow(Row):
    model: str = Field(
        description="catalog model (billing rows mapped from their model column, line item or SKU description)"
    )
    provider: str | None = Field(
        default=None,
        description="gemini | openai | anthropic: who bills the model (ledger rows without one are gemini); "
        "null in partitions written before per-provider reconciliation",
    )
    status: ReconciliationStatus = Field(
        description="match | mismatch | missing_in_billing | missing_in_ledger | unpriced | awaiting_billing "
        "(awaiting: no export of this provider reaches the day yet)"
    )
    ledger_usd: float | None = Field(
        default=None, description="sum of call_ledger cost_usd of calls started that day (null if any is unpriced)"
    )
    billing_usd: float | None = Field(
        default=None, description="sum of the billing export's cost for that day and model, USD, before credits"
    )
    credits_usd: float | None = Field(
        default=None, description="credits in the billing export (negative), not part of the comparison"
    )
    diff_usd: float | None = Field(default=None, description="billing_usd - ledger_usd")
    diff_pct: float | None = Field(default=None, description="diff_usd / ledger_usd * 100 (null when the ledger is 0)")
    tolerance_pct: float = Field(description="relative tolerance applied, percent")
    tolerance_abs_usd: float = Field(description="absolute tolerance applied (rounding), USD")
    ledger_calls: int = Field(description="ledger attempts started that day")
    unpriced_calls: int = Field(description="ledger attempts without a price")
    billing_rows: int = Field(description="billing export rows for that day and model")
    billing_files: str | None = Field(default=None, description="billing/ files that contributed")
    checked_at: datetime | None = Field(default=None, description="when the comparison ran")


# ---- comparison --------------------------------------------------------------------------------
def _side(side: str, what: str) -> Any:
    return Field(default=None, description=f"{side}: {what}")


class ModelComparisonRow(Row):
    task: str = Field(description="task compared")
    champion_model: str = Field(description="model whose answers are the records (model_outputs)")
    champion_provider: Provider | None = Field(default=None, description="gemini | openai | anthropic")
    challenger_model: str = Field(description="shadow challenger (routes.yaml challenger/challengers)")
    challenger_provider: Provider | None = Field(default=None, description="gemini | openai | anthropic")
    routes: str = Field(description="routing rules the pairs came from, comma-separated")
    items_in_share: int = Field(description="items of the day in the challenger's share")
    items_compared: int = Field(description="items both models answered (or had answered earlier: archive)")
    items_not_applicable: int = Field(
        description="items the challenger cannot take (media kind, size, pages, residency): not a failure"
    )
    items_not_called: int = Field(
        description="items in the share the challenger did not answer for another reason (budget cap, breaker)"
    )
    champion_valid_rate: float | None = _side("champion", "share of compared items with a schema-valid answer")
    challenger_valid_rate: float | None = _side("challenger", "share of compared items with a schema-valid answer")
    champion_review_rate: float | None = _side("champion", "share of compared items the judge sends to review")
    challenger_review_rate: float | None = _side(
        "challenger", "share of compared items the judge would send to review (same rules as validated_records)"
    )
    items_agreement_measured: int = Field(description="compared items where both answers are valid")
    field_agreement: float | None = Field(
        default=None,
        description="mean field agreement 0..1 over those items: exact enums/booleans, numbers within 2%, "
        "normalised text similarity, set overlap for arrays (confidence excluded)",
    )
    field_agreement_json: str | None = Field(default=None, description="mean agreement per field, JSON object")
    champion_mean_confidence: float | None = _side("champion", "mean self-reported confidence of valid answers")
    challenger_mean_confidence: float | None = _side("challenger", "mean self-reported confidence of valid answers")
    champion_cost_usd: float | None = _side("champion", "call_ledger cost of the compared items (null if unpriced)")
    challenger_cost_usd: float | None = _side("challenger", "call_ledger cost of the compared items (null if unpriced)")
    champion_cost_per_valid_usd: float | None = _side("champion", "cost_usd / valid answers")
    challenger_cost_per_valid_usd: float | None = _side("challenger", "cost_usd / valid answers")
    champion_latency_p50_ms: float | None = _side("champion", "median per-item latency (sum of its attempts)")
    champion_latency_p95_ms: float | None = _side("champion", "95th percentile per-item latency")
    challenger_latency_p50_ms: float | None = _side("challenger", "median per-item latency (sum of its attempts)")
    challenger_latency_p95_ms: float | None = _side("challenger", "95th percentile per-item latency")
    compared_at: datetime | None = Field(default=None, description="when the comparison ran")


# ---- quality -----------------------------------------------------------------------------------
def _golden(what: str) -> Any:
    return Field(default=None, description=f"golden set: {what}")


class TaskQualityRow(Row):
    task: str = Field(description="task measured")
    task_version: str = Field(description="task catalog version that answered the day's items")
    model: str = Field(description="model that answered them (model_outputs)")
    provider: Provider | None = Field(default=None, description="gemini | openai | anthropic")
    items: int = Field(description="the day's items this task version and model answered (model_outputs rows)")
    valid_output_rate: float | None = Field(default=None, description="share of items with a schema-valid answer")
    review_rate: float | None = Field(default=None, description="share of items in review_queue")
    golden_items: int = Field(description="golden-set items answered by the same task version and model")
    golden_correct: int = Field(default=0, description="golden items whose answer is correct (mean field score >= 0.8)")
    golden_accuracy: float | None = _golden("golden_correct / golden_items (an item without a valid answer is wrong)")
    golden_mean_field_score: float | None = _golden("mean of the items' mean field scores, 0..1")
    field_scores_json: str | None = _golden("mean score per labelled field, JSON object")
    reviewer_agreement: float | None = Field(
        default=None,
        description="review decisions on the day's model answers: approve 1, reject 0, edit the field agreement "
        "with the edited record; null without decisions",
    )
    reviewer_decisions: int = Field(default=0, description="decided review items with a model answer")
    cost_usd: float | None = Field(default=None, description="call_ledger cost of the day's items (null if unpriced)")
    cost_per_correct_record_usd: float | None = Field(
        default=None,
        description="cost_usd / (items x golden_accuracy): the cost of one right answer at the measured accuracy",
    )
    latency_p50_ms: float | None = Field(default=None, description="median per-item latency (sum of its attempts)")
    latency_p95_ms: float | None = Field(default=None, description="95th percentile per-item latency")
    calibrated_items: int = Field(default=0, description="golden answers with a confidence (the calibration's points)")
    ece: float | None = _golden("expected calibration error of the answers' confidence, 0..1")
    calibration_json: str | None = _golden(
        "per non-empty confidence bucket: low, high, count, mean_confidence, accuracy (JSON list)"
    )
    target_precision: float | None = Field(default=None, description="the task's target precision (task catalog)")
    recommended_threshold: float | None = _golden(
        "lowest confidence whose accepted answers meet target_precision (null: not enough answers or never met)"
    )
    threshold_precision: float | None = _golden("precision of the answers at or above the recommended threshold")
    threshold_coverage: float | None = _golden("share of golden answers at or above the recommended threshold")
    measured_at: datetime | None = Field(default=None, description="when the day was measured")


class CanaryReleaseRow(Row):
    task: str = Field(description="task whose canary was judged")
    candidate: str = Field(description="what the canary tries: `version 1.1.0` or `model <name>`")
    baseline_version: str | None = Field(default=None, description="task version the other items kept")
    share: float = Field(description="configured share of live items the candidate answered")
    decision: str = Field(description="promoted | rolled_back | continue (minimum sample not reached)")
    reasons: str = Field(description="why, threshold by threshold (`; `-separated)")
    live_items: int = Field(description="the day's live items the candidate answered")
    golden_items: int = Field(description="golden items the candidate answered (the sample the thresholds need)")
    golden_accuracy: float | None = Field(default=None, description="the candidate's golden accuracy")
    valid_output_rate: float | None = Field(
        default=None, description="share of schema-valid answers: live items, else golden ones"
    )
    cost_per_correct_record_usd: float | None = Field(default=None, description="as in task_quality")
    baseline_golden_accuracy: float | None = Field(
        default=None, description="the baseline's golden accuracy, for reference"
    )
    pinned_version: str | None = Field(default=None, description="task version every item gets after the decision")
    decided_at: datetime = Field(description="when the gate judged the canary")


RAW_MEDIA = _table("raw_media", ("media_id",), "one row per file landed in landing/<day>/<task>/", RawMediaRow)
VALIDATED_MEDIA = _table("validated_media", ("media_id",), "accepted uploads with probe results", ValidatedMediaRow)
QUARANTINED_MEDIA = _table("quarantined_media", ("media_id",), "rejected uploads with a reason", QuarantinedMediaRow)
GEMINI_FILES = _table("gemini_files", ("media_id",), "how each accepted item reaches the model", DeliveryPlan)
MODEL_OUTPUTS = _table(
    "model_outputs", ("media_id",), "one row per item: the model's final answer and its usage", ModelOutputRow
)
CHALLENGER_OUTPUTS = _table(
    "challenger_outputs",
    ("media_id", "model"),
    "shadow A/B: one row per item x challenger whose share holds it; never a record (model_outputs' columns)",
    ModelOutputRow,
)
GOLDEN_OUTPUTS = _table(
    "golden_outputs",
    ("media_id", "task_version", "model"),
    "golden-set items answered by each task version x model of the day (variant golden); never a record "
    "(model_outputs' columns)",
    ModelOutputRow,
)
VALIDATED_RECORDS = _table("validated_records", ("media_id",), "valid typed outputs", ValidatedRecordRow)
REVIEW_QUEUE = _table("review_queue", ("media_id",), "everything a person must look at", ReviewQueueRow)
CALL_LEDGER = _table(
    "call_ledger",
    ("call_id",),
    "one row per API attempt, failed ones included; the `date=` folder is the upload day processed, "
    "`started_at` the moment of the call (billing days follow `started_at`)",
    CallLedgerRow,
)
DAILY_COSTS = _table(
    "daily_costs", ("model", "task", "media_kind"), "cost per model x task x media kind for the day", DailyCostsRow
)
GEMINI_BATCHES = _table(
    "gemini_batches",
    ("batch_name",),
    "Batch API jobs used for the day's items (mode batch), from the records under batches/<day>/",
    GeminiBatchRow,
)
BILLING_RECONCILIATION = _table(
    "billing_reconciliation",
    ("provider", "model"),
    "each provider's billing export against call_ledger, per usage day (UTC, the `date=` folder), provider and model",
    BillingReconciliationRow,
)
MODEL_COMPARISON = _table(
    "model_comparison",
    ("task", "champion_model", "challenger_model"),
    "shadow A/B results of the day per task x champion x challenger (challenger_outputs against model_outputs)",
    ModelComparisonRow,
)
TASK_QUALITY = _table(
    "task_quality",
    ("task", "task_version", "model"),
    "how right the day's answers are per task x task version x model: golden-set accuracy, calibration, "
    "review, cost and latency",
    TaskQualityRow,
)
CANARY_RELEASES = _table(
    "canary_releases",
    ("task", "candidate"),
    "the day's canary gate: each running canary's figures against its thresholds and the decision taken",
    CanaryReleaseRow,
)
