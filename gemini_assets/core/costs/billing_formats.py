"""The billing exports we read, one small spec each, told apart by their header (never the file name).

Header names are normalised first (case and punctuation ignored), so ``Spend ($)`` is ``spend`` and
a JSON dump flattened with ``pandas.json_normalize`` (``amount.value``) is ``amount_value``.
Sources of the column names (docs/costs.md repeats them for operators):

- Google Cloud Billing: the BigQuery export schema and the console cost-table CSV.
- OpenAI: ``GET /v1/organization/costs`` (buckets with ``start_time`` in Unix seconds, results with
  ``amount.value``, ``amount.currency``, ``line_item`` such as "gpt-4o-2024-08-06, input",
  ``project_id``; platform.openai.com API reference) and the usage dashboard's "Cost data" CSV
  export, whose columns are the same fields flattened (``start_time, end_time, start_time_iso,
  end_time_iso, amount_value, amount_currency, quantity, quantity_unit, line_item, ...,
  project_id, organization_id, project_name, ...``; docs.pelanor.io OpenAI integration guide and a
  dashboard-export fixture in a public repository).
- Anthropic: Admin API ``GET /v1/organizations/cost_report`` (platform.claude.com API reference:
  ``amount`` is "Cost amount in lowest currency units (e.g. cents) as a decimal string. For
  example, "123.45" in "USD" represents $1.23"), one CSV row per ``results[]`` item with its
  bucket's ``starting_at``; and the Console's cost CSV export (``usage_date_utc, model, workspace,
  api_key, usage_type, context_window, token_type, cost_usd, list_price_usd, cost_type, ...``, in
  dollars, models by display name such as "Claude Opus 4.7"; column order as in a public
  parser's fixture of the real export).
- A gateway's spend CSV: LiteLLM's daily spend tables (``date, model, custom_llm_provider,
  prompt_tokens, completion_tokens, spend``), its SpendLogs (``startTime``) and its UI usage
  export (``Date, Model, Spend ($), ..., Total Tokens``), or any proxy with the same ideas.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from gemini_assets.core.contracts.enums import Provider

Row = Mapping[str, str]
GEMINI_SERVICES = ("gemini", "generative language")
# A dated snapshot of a catalog model: claude-opus-4-7-20261001, gpt-5.5-2026-04-23, Vertex's @20261001.
DATED = re.compile(r"[-@](\d{8}|\d{4}-\d{2}-\d{2})$")
PROVIDER_ALIASES = {
    "gemini": Provider.GEMINI,
    "google": Provider.GEMINI,
    "vertex_ai": Provider.GEMINI,
    "vertex_ai_beta": Provider.GEMINI,
    "openai": Provider.OPENAI,
    "azure": Provider.OPENAI,  # Azure OpenAI speaks the OpenAI API, which is what the ledger records
    "anthropic": Provider.ANTHROPIC,
}
MODEL_PREFIXES = (
    (re.compile(r"^(gpt-|chatgpt-|o\d)"), Provider.OPENAI),
    (re.compile(r"^claude-"), Provider.ANTHROPIC),
    (re.compile(r"^gemini-"), Provider.GEMINI),
)


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _slug(text: str) -> str:
    return "-" + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") + "-"


def model_from_sku(sku: str, models: set[str]) -> str | None:
    """The longest catalog model named in a SKU description ('Gemini 2.5 Flash Lite Input' -> gemini-2.5-flash-lite)."""
    slug = _slug(sku)
    found = [model for model in models if _slug(model) in slug]
    return max(found, key=len) if found else None


def _bare(name: str) -> str:
    """``openai/gpt-5.5`` or ``models/gemini-2.5-pro`` without the prefix; a description stays whole."""
    text = name.strip()
    return text.rsplit("/", 1)[-1] if "/" in text and " " not in text else text


def catalog_model(name: str, models: set[str]) -> str:
    """Our catalog's name for a provider's model name, else the name as billed.

    Only exact equivalents map (a dated snapshot, a display name, a ``provider/`` prefix): a
    substring match would book ``gpt-5.5-mini`` charges on ``gpt-5.5``.
    """
    text = _bare(name)
    candidates = (text, DATED.sub("", text))
    by_slug = {_slug(model): model for model in models}
    for candidate in candidates:
        if candidate in models:
            return candidate
        if _slug(candidate) in by_slug:
            return by_slug[_slug(candidate)]
    return text


def provider_of(model: str, declared: str = "") -> Provider | None:
    """A declared provider (gateway column or ``provider/model``) wins; else the model's prefix."""
    bare = _bare(model).lower()
    prefix = model.strip()[: -len(bare) - 1].lower() if bare != model.strip().lower() else ""
    hint = declared.strip().lower() or prefix
    if hint in PROVIDER_ALIASES:
        return PROVIDER_ALIASES[hint]
    return next((provider for pattern, provider in MODEL_PREFIXES if pattern.match(bare)), None)


def _first(row: Row, names: tuple[str, ...]) -> str:
    return next((row[name].strip() for name in names if row.get(name, "").strip()), "")


def _google_model(row: Row, models: set[str]) -> str | None:
    sku = row.get("sku_description", "")
    return row.get("model", "").strip() or model_from_sku(sku, models) or f"unmatched: {sku}"


def _openai_model(row: Row, models: set[str]) -> str | None:
    # "gpt-5.5, input" / "gpt-5.5, cached input": the model is what precedes the first comma.
    return row.get("line_item", "").split(",", 1)[0].strip() or None


def _anthropic_api_model(row: Row, models: set[str]) -> str | None:
    # Non-token costs (web search, code execution) have no model; their description names them.
    description = row.get("description", "").strip()
    if row.get("model", "").strip():
        return row["model"].strip()
    return (model_from_sku(description, models) or f"unmatched: {description}") if description else None


def _column_model(row: Row, models: set[str]) -> str | None:
    return _first(row, ("model", "model_name", "model_group")) or None


def _gemini_service(row: Row) -> bool:
    service = row.get("service_description")
    return service is None or any(name in service.lower() for name in GEMINI_SERVICES)


@dataclass(frozen=True)
class BillingFormat:
    """How to read one export: which header columns identify it and where date, model and cost are."""

    name: str
    label: str
    # Each group needs at least one of its columns in the header; the first present one is read.
    date: tuple[str, ...]
    cost: tuple[str, ...]
    model_columns: tuple[str, ...]
    model: Callable[[Row, set[str]], str | None]
    also: tuple[tuple[str, ...], ...] = ()  # further groups that tell this export from the others
    provider: Provider | None = None  # None: per row, from a provider column or the model name
    currency: tuple[str, ...] = ("currency",)
    scale: Decimal = Decimal(1)  # multiplies the amount into currency units (cents -> dollars)
    keep: Callable[[Row], bool] = lambda row: True
    no_model_hint: str = ""

    def groups(self) -> tuple[tuple[str, ...], ...]:
        return (self.date, self.cost, self.model_columns, *self.also)

    def missing(self, header: set[str]) -> list[tuple[str, ...]]:
        return [group for group in self.groups() if not header & set(group)]

    def column(self, header: set[str], group: tuple[str, ...]) -> str:
        return next(name for name in group if name in header)

    def expects(self) -> str:
        return f"{self.label}: {', '.join('/'.join(group) for group in self.groups())}"


TOKEN_COLUMNS = ("prompt_tokens", "input_tokens", "completion_tokens", "output_tokens", "total_tokens")
PROVIDER_COLUMNS = ("provider", "custom_llm_provider", "llm_provider")

# Most specific first: a gateway CSV (date, model, cost) would also satisfy the Cloud Billing spec.
FORMATS = (
    BillingFormat(
        name="anthropic_cost_report",
        label="Anthropic cost report (Admin API cost_report)",
        date=("starting_at",),
        cost=("amount",),
        model_columns=("model", "description"),
        model=_anthropic_api_model,
        provider=Provider.ANTHROPIC,
        # Documented: amount is in the currency's lowest units as a decimal string ("123.45" USD = $1.23).
        scale=Decimal("0.01"),
        no_model_hint="request the report with group_by[]=description",
    ),
    BillingFormat(
        name="anthropic_console_cost",
        label="Anthropic Console cost export",
        date=("usage_date_utc",),
        cost=("cost_usd",),
        model_columns=("model",),
        model=_column_model,
        also=(("token_type", "cost_type"),),
        provider=Provider.ANTHROPIC,
        currency=(),
    ),
    BillingFormat(
        name="openai_costs",
        label="OpenAI costs export (dashboard cost CSV or Costs API)",
        date=("start_time", "start_time_iso"),
        cost=("amount_value",),
        model_columns=("line_item",),
        model=_openai_model,
        provider=Provider.OPENAI,
        currency=("amount_currency",),
        no_model_hint="export the costs grouped by line item",
    ),
    BillingFormat(
        name="gateway_spend",
        label="gateway spend CSV",
        date=("date", "day", "usage_date", "starttime", "start_time", "timestamp", "created_at"),
        cost=("spend", "cost_usd", "cost", "total_cost", "response_cost"),
        model_columns=("model", "model_name", "model_group"),
        model=_column_model,
        also=(TOKEN_COLUMNS + PROVIDER_COLUMNS,),
    ),
    BillingFormat(
        name="google_cloud_billing",
        label="Google Cloud Billing export",
        date=("usage_date", "usage_start_time", "usage_start_date", "date"),
        cost=("unrounded_cost", "cost", "cost_usd"),
        model_columns=("model", "sku_description"),
        model=_google_model,
        provider=Provider.GEMINI,
        keep=_gemini_service,
    ),
)


def detect(header: set[str]) -> BillingFormat | None:
    return next((spec for spec in FORMATS if not spec.missing(header)), None)


def unrecognised(key: str, header: list[str]) -> str:
    """A problem line naming what each format needs, and what the closest one lacks."""

    def found(spec: BillingFormat) -> tuple[int, int]:
        lacking = len(spec.missing(set(header)))
        return len(spec.groups()) - lacking, -lacking

    closest = max(FORMATS, key=found)
    lacking = closest.missing(set(header))
    near = ""
    if found(closest)[0]:
        near = f"; closest: {closest.label}, which lacks {', '.join('/'.join(g) for g in lacking)}"
    expected = " | ".join(spec.expects() for spec in FORMATS)
    return f"{key}: header matches no billing format (have {header}{near}); expected one of: {expected}"
