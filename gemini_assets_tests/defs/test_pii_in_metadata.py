"""No personal data in the Dagster UI: a day with PII in its sidecars and documents leaves none in
the event log (materialization metadata and previews, asset check results, run log messages).

The tables keep what they keep (docs/access.md); what the UI shows is what every engineer with
access to Dagster sees, so it must hold no more than the output filters would let through.
"""

import dagster as dg
import pytest

from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import default_resources
from gemini_assets_tests.landing import land
from gemini_devkit.samples.day import seed_day
from gemini_devkit.samples.media import make_pdf

# A whole day through Dagster and the emulator: slow.
pytestmark = pytest.mark.slow

DAY = "2026-11-21"
EMAIL = "jane.doe@example.com"
PHONE = "+44 20 7946 0958"
CARD = "4111 1111 1111 1111"  # passes the Luhn check, as a real card number does
# What the filters catch (core/privacy/filters.py), as the sidecar context and as printed
# "Label: value" lines of a document, which the emulator answers verbatim in key_fields.
PII = {"email": EMAIL, "phone": PHONE, "card": CARD}
CONTEXT = f"returned by {EMAIL}, call {PHONE}, paid with card {CARD}"


def pii_day(store) -> None:
    seeded = seed_day(store, DAY, 10)
    # Every photo's sidecar now carries contact data in its free-text context.
    for key in seeded.labels:
        land(store, key, store.read_bytes(key), context=CONTEXT)
    # The first line is what the emulator answers as the title: PII opens the raw answer, where no
    # 60-character cut of a preview hides it.
    lines = [EMAIL, "", *(f"{kind.title()}: {value}" for kind, value in PII.items())]
    land(store, f"landing/{DAY}/document_extraction/mobile-app/invoice_0042.pdf", make_pdf([lines]), context=CONTEXT)


def leaks(text: str) -> list[str]:
    # The digits alone too: a preview that drops the spaces or cuts at 60 characters still shows them.
    compact = {name: value.replace(" ", "") for name, value in PII.items()}
    return sorted(
        {name for name, value in PII.items() if value in text}
        | {name for name, value in compact.items() if value in text.replace(" ", "")}
    )


def test_a_day_with_pii_leaves_none_in_the_event_log(store):
    pii_day(store)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(ASSETS, partition_key=DAY, resources=default_resources(), instance=instance)
        assert result.success
        entries = instance.all_logs(result.run_id)
        found = {}
        for entry in entries:
            serialized = dg.serialize_value(entry)
            if problems := leaks(serialized):
                found[entry.dagster_event_type or entry.user_message[:60]] = problems
    assert entries and not found, found

    # The PII really went through the day: in the stored context and in the document's raw answer,
    # so a clean event log is the metadata's doing, not an empty day's.
    raw = read_partition(store, "raw_media", DAY)
    assert (raw["context"] == CONTEXT).sum() >= 2
    outputs = read_partition(store, "model_outputs", DAY)
    assert outputs["raw_text"].str.contains(EMAIL, regex=False).any()
