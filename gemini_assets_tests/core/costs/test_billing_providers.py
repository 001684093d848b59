"""OpenAI, Anthropic and gateway billing exports, told apart by header; reconciliation per provider."""

from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gemini_assets.core.costs.billing import read_billing
from gemini_assets.core.costs.billing_formats import catalog_model, provider_of
from gemini_assets.core.costs.history import calls_on
from gemini_assets.core.costs.reconcile import Tolerance, reconcile, verdict
from gemini_assets.core.gateway.pricing import PriceBook
from gemini_assets.core.storage.tables import partition_key

DAY = date(2026, 11, 20)
MODELS = PriceBook().models()
EPOCH = {d: int(datetime(2026, 11, d, tzinfo=UTC).timestamp()) for d in (19, 20, 21)}

OPENAI_DASHBOARD = (
    "start_time,end_time,start_time_iso,end_time_iso,amount_value,amount_currency,quantity,quantity_unit,"
    "line_item,user_id,api_key_id,project_id,organization_id,project_name,organization_name,user_email,api_source\n"
    f"{EPOCH[19]},{EPOCH[20]},2026-11-19T00:00:00+00:00,2026-11-20T00:00:00+00:00,,,,,,,,,,,,,\n"
    f'{EPOCH[20]},{EPOCH[21]},2026-11-20T00:00:00,2026-11-21T00:00:00,0.4,usd,80000,tokens,"gpt-5.5, input",'
    ",key_1,proj_a,org-1,Assets,Org,ops@example.com,\n"
    f"{EPOCH[20]},{EPOCH[21]},2026-11-20T00:00:00,2026-11-21T00:00:00,1.2,usd,40000,tokens,"
    '"gpt-5.5-2026-04-23, output",'
    ",key_1,proj_a,org-1,Assets,Org,ops@example.com,\n"
)
OPENAI_API_FLATTENED = (  # pandas.json_normalize(page["data"], "results", ["start_time", "end_time"]).to_csv()
    "object,amount.value,amount.currency,line_item,project_id,start_time,end_time\n"
    f'organization.costs.result,0.25,usd,"gpt-5.5, cached input",proj_a,{EPOCH[20]},{EPOCH[21]}\n'
)
ANTHROPIC_API = (  # one row per results[] item, with its bucket's starting_at / ending_at
    "starting_at,ending_at,workspace_id,description,model,cost_type,token_type,context_window,service_tier,amount,currency\n"
    "2026-11-20T00:00:00Z,2026-11-21T00:00:00Z,wrkspc_1,Claude Opus 4.7 Usage - Input Tokens,claude-opus-4-7-20261001,"
    "tokens,uncached_input_tokens,0-200k,standard,123.45,USD\n"
    "2026-11-20T00:00:00Z,2026-11-21T00:00:00Z,wrkspc_1,Claude Opus 4.7 Usage - Output Tokens,claude-opus-4-7,"
    "tokens,output_tokens,0-200k,standard,250,USD\n"
    "2026-11-20T00:00:00Z,2026-11-21T00:00:00Z,wrkspc_1,Web Search,,web_search,,,,1000,USD\n"
)
ANTHROPIC_CONSOLE = (
    "usage_date_utc,model,workspace,api_key,usage_type,context_window,token_type,cost_usd,list_price_usd,cost_type,"
    "inference_geo,speed,api_key_id,api_key_status\n"
    "2026-11-20,Claude Opus 4.7,Default,assets,message,≤ 200k,input_no_cache,0.05,0.05,token,not_available,,"
    "apikey_1,active\n"
    "2026-11-20,Claude Opus 4.7,Default,assets,message,≤ 200k,output,0.02,0.02,token,not_available,,apikey_1,active\n"
)
LITELLM_DAILY = (
    "id,date,api_key,model,model_group,custom_llm_provider,prompt_tokens,completion_tokens,spend,api_requests\n"
    "a,2026-11-20,sk-1,gpt-5.5,default,openai,1000,200,0.011,3\n"
    "b,2026-11-20,sk-1,claude-opus-4-7,default,anthropic,1000,100,0.0075,2\n"
    "c,2026-11-20,sk-1,gemini-3.8-flash,default,gemini,1000,100,0.001125,2\n"
)
LITELLM_UI = (
    "Date,Team,Team ID,Model,Spend ($),Requests,Successful,Failed,Total Tokens\n"
    '2026-11-20,assets,t1,openai/gpt-5.5,"1,234.5000",10,10,0,500000\n'
    "2026-11-20,assets,t1,claude-opus-4-7-20261001,0.5000,2,2,0,3000\n"
)
PROXY = "day,model,input_tokens,output_tokens,cost_usd\n20261120,o3-mini,10,10,0.30\n"  # YYYYMMDD, not Unix time


@pytest.mark.parametrize(
    ("body", "fmt", "expected"),
    [
        (OPENAI_DASHBOARD, "openai_costs", {("openai", "gpt-5.5"): 1.6}),
        (OPENAI_API_FLATTENED, "openai_costs", {("openai", "gpt-5.5"): 0.25}),
        (
            ANTHROPIC_API,
            "anthropic_cost_report",
            {("anthropic", "claude-opus-4-7"): 1.2345 + 2.50, ("anthropic", "unmatched: Web Search"): 10.0},
        ),
        (ANTHROPIC_CONSOLE, "anthropic_console_cost", {("anthropic", "claude-opus-4-7"): 0.07}),
        (
            LITELLM_DAILY,
            "gateway_spend",
            {
                ("openai", "gpt-5.5"): 0.011,
                ("anthropic", "claude-opus-4-7"): 0.0075,
                ("gemini", "gemini-3.8-flash"): 0.001125,
            },
        ),
        (LITELLM_UI, "gateway_spend", {("openai", "gpt-5.5"): 1234.5, ("anthropic", "claude-opus-4-7"): 0.5}),
        (PROXY, "gateway_spend", {("openai", "o3-mini"): 0.30}),
    ],
    ids=[
        "openai-dashboard",
        "openai-api",
        "anthropic-api",
        "anthropic-console",
        "litellm-daily",
        "litellm-ui",
        "proxy",
    ],
)
def test_each_export_is_recognised_by_its_header_not_its_name(store, body, fmt, expected):
    store.write_bytes("billing/2026-11/export.csv", body.encode())  # the same name for every format
    export = read_billing(store, MODELS)
    assert export.problems == []
    rows = export.on(DAY)
    assert set(rows["format"]) == {fmt}
    totals = rows.groupby(["provider", "model"])["cost_usd"].sum().to_dict()
    assert totals.keys() == expected.keys()
    for key, usd in expected.items():
        assert totals[key] == pytest.approx(usd), key


def test_anthropic_cost_report_amounts_are_cents_and_console_amounts_dollars(store):
    store.write_bytes("billing/a.csv", ANTHROPIC_API.encode())
    store.write_bytes("billing/b.csv", ANTHROPIC_CONSOLE.encode())
    rows = read_billing(store, MODELS).rows
    api = rows[rows["format"] == "anthropic_cost_report"]
    # "123.45" in USD is $1.2345 (lowest units), not $123.45; the Console CSV is already in dollars.
    assert sorted(api["cost_usd"]) == pytest.approx([1.2345, 2.50, 10.0])
    assert rows[rows["format"] == "anthropic_console_cost"]["cost_usd"].sum() == pytest.approx(0.07)


def test_provider_model_names_map_to_the_catalog_only_when_equivalent():
    assert catalog_model("claude-opus-4-7-20261001", MODELS) == "claude-opus-4-7"
    assert catalog_model("Claude Opus 4.7", MODELS) == "claude-opus-4-7"
    assert catalog_model("gpt-5.5-2026-04-23", MODELS) == "gpt-5.5"
    assert catalog_model("openai/gpt-5.5", MODELS) == "gpt-5.5"
    assert catalog_model("gpt-5.5-mini", MODELS) == "gpt-5.5-mini"  # another model, not a snapshot
    assert catalog_model("unmatched: Imagen (text/image)", MODELS) == "unmatched: Imagen (text/image)"
    assert provider_of("o4-mini") == "openai" and provider_of("claude-haiku-4-5") == "anthropic"
    assert provider_of("gemini-2.5-pro") == "gemini" and provider_of("mistral-large") is None
    assert provider_of("my-alias", "vertex_ai") == "gemini" and provider_of("anthropic/x") == "anthropic"


def test_unrecognised_headers_and_unattributable_rows_are_problems(store):
    store.write_bytes(  # the Console's *usage* CSV: tokens, no cost
        "billing/claude.csv",
        b"usage_date_utc,model_version,api_key,workspace,usage_type,usage_input_tokens_no_cache,usage_output_tokens\n"
        b"2026-11-20,claude-opus-4-7,assets,Default,message,1000,100\n",
    )
    store.write_bytes(
        "billing/openai.csv",
        b"start_time,amount_value,amount_currency,line_item,project_id\n"
        + f"{EPOCH[20]},0.90,usd,,proj_a\n".encode(),  # not grouped by line item: which model?
    )
    store.write_bytes("billing/proxy.csv", b"date,model,prompt_tokens,spend\n2026-11-20,mistral-large,10,0.2\n")
    export = read_billing(store, MODELS)
    assert len(export.rows) == 0 and len(export.files) == 3
    (usage,) = [p for p in export.problems if p.startswith("billing/claude.csv")]
    for label in ("Google Cloud Billing", "OpenAI costs", "Anthropic cost report", "Anthropic Console", "gateway"):
        assert label in usage
    assert "closest: Anthropic Console cost export, which lacks cost_usd" in usage
    assert any(
        "openai.csv line 2: a cost without a model: export the costs grouped by line item" in p for p in export.problems
    )
    assert any("proxy.csv line 2: cannot tell the provider of model 'mistral-large'" in p for p in export.problems)


def _ledger(*rows):
    return pd.DataFrame([{"provider": p, "model": m, "cost_usd": c} for p, m, c in rows])


LEDGER = _ledger(
    ("gemini", "gemini-3.8-flash", 0.30),
    (None, "gemini-3.8-flash", 0.20),  # an older ledger row without provider: a Gemini call
    ("openai", "gpt-5.5", 1.00),
    ("anthropic", "claude-opus-4-7", 0.07),
)
GOOGLE = (
    "usage_date,service_description,sku_description,cost,currency\n{day},Gemini API,Gemini 3.8 Flash Input,0.50,USD\n"
)
OPENAI = (
    "start_time,start_time_iso,amount_value,amount_currency,line_item,project_id\n"
    '{epoch},2026-11-20T00:00:00,{usd},usd,"gpt-5.5, input",proj_a\n'
)


def _statuses(store, calls=LEDGER):
    billing = read_billing(store, MODELS)
    rows = reconcile(calls, billing, DAY, Tolerance(1.0, 0.0))
    return {(r.provider, r.model): r.status for r in rows}, verdict(rows, billing)


def test_one_provider_mismatching_fails_only_its_own_row(store):
    store.write_bytes("billing/g.csv", GOOGLE.format(day=DAY).encode())
    store.write_bytes("billing/o.csv", OPENAI.format(epoch=EPOCH[20], usd="1.05").encode())  # 5 % over our books
    store.write_bytes("billing/c.csv", ANTHROPIC_CONSOLE.encode())
    statuses, result = _statuses(store)
    assert statuses == {
        ("gemini", "gemini-3.8-flash"): "match",
        ("openai", "gpt-5.5"): "mismatch",
        ("anthropic", "claude-opus-4-7"): "match",
    }
    assert not result.passed and len(result.problems) == 1
    assert result.problems[0].startswith("openai/gpt-5.5: mismatch")


def test_a_provider_without_its_export_awaits_while_the_others_are_compared(store):
    store.write_bytes("billing/g.csv", GOOGLE.format(day=DAY).encode())
    store.write_bytes("billing/o.csv", OPENAI.format(epoch=EPOCH[20], usd="1.00").encode())
    # Anthropic's export stops the day before: its bill for DAY is not in yet.
    store.write_bytes("billing/c.csv", ANTHROPIC_CONSOLE.replace("2026-11-20", "2026-11-19").encode())
    statuses, result = _statuses(store)
    assert statuses == {
        ("gemini", "gemini-3.8-flash"): "match",
        ("openai", "gpt-5.5"): "match",
        ("anthropic", "claude-opus-4-7"): "awaiting_billing",
    }
    assert result.passed and not result.awaiting and result.awaiting_providers == ["anthropic"]

    # The awaited provider does not hide a mismatch of another one.
    store.write_bytes("billing/o.csv", OPENAI.format(epoch=EPOCH[20], usd="2.00").encode())
    statuses, result = _statuses(store)
    assert statuses[("openai", "gpt-5.5")] == "mismatch"
    assert statuses[("anthropic", "claude-opus-4-7")] == "awaiting_billing" and not result.passed


def test_an_export_that_reaches_the_day_without_charges_is_not_awaited(store):
    store.write_bytes("billing/g.csv", GOOGLE.format(day=DAY).encode())
    # OpenAI's dashboard writes an empty bucket for the day: the export is in, it bills nothing.
    store.write_bytes(
        "billing/o.csv",
        (OPENAI.split("\n")[0] + f"\n{EPOCH[20]},2026-11-20T00:00:00,,,,\n").encode(),
    )
    statuses, result = _statuses(store, LEDGER[LEDGER["provider"] != "anthropic"])
    assert statuses[("openai", "gpt-5.5")] == "missing_in_billing" and not result.passed
    # Billed charges of a provider we did not call that day are charges we cannot explain.
    store.write_bytes("billing/c.csv", ANTHROPIC_CONSOLE.encode())
    statuses, _ = _statuses(store, LEDGER[LEDGER["provider"] != "anthropic"])
    assert statuses[("anthropic", "claude-opus-4-7")] == "missing_in_ledger"


def _write_ledger(store, day, with_provider):
    columns = {
        "call_id": pa.array(["c-" + day]),
        "task": pa.array(["product_recognition"]),
        "model": pa.array(["claude-opus-4-7" if with_provider else "gemini-3.8-flash"]),
        "status_code": pa.array([200], pa.int32()),
        "cost_usd": pa.array([0.07 if with_provider else 0.5]),
        "started_at": pa.array([datetime(2026, 11, 20, 12, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
    }
    if with_provider:
        columns["provider"] = pa.array(["anthropic"])
    with store.open(partition_key("call_ledger", day), "wb") as handle:
        pq.write_table(pa.table(columns), handle)


def test_calls_on_reads_ledgers_written_before_the_provider_column(store):
    _write_ledger(store, "2026-11-19", with_provider=False)
    only_old = calls_on(store, DAY)
    assert list(only_old["provider"].isna()) == [True]
    _write_ledger(store, "2026-11-20", with_provider=True)
    calls = calls_on(store, DAY)
    assert sorted(calls["provider"].fillna("null")) == ["anthropic", "null"]
    store.write_bytes("billing/g.csv", GOOGLE.format(day=DAY).encode())
    statuses, _ = _statuses(store, calls)
    assert statuses == {("gemini", "gemini-3.8-flash"): "match", ("anthropic", "claude-opus-4-7"): "awaiting_billing"}
