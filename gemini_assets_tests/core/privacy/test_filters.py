import pytest

from gemini_assets.core.config import load_settings
from gemini_assets.core.contracts.errors import ConfigurationError
from gemini_assets.core.privacy.filters import OutputPolicy, TextFilter, iban_ok, luhn_ok
from gemini_assets.core.tasks.catalog import TaskCatalog

filter_output = TextFilter().filter_output


def configured() -> TextFilter:
    settings = load_settings()
    return TextFilter.load(settings.sensitive_words_file, settings.pii_patterns_file)


@pytest.mark.parametrize(
    "text,kind",
    [
        ("write to jane.doe@example.com today", "email"),
        ("call +49 30 1234 5678", "phone"),
        ("card 4111 1111 1111 1111 on file", "card"),
        ("IBAN DE89 3704 0044 0532 0130 00", "iban"),
        ("from 192.168.10.20", "ip"),
    ],
)
def test_pii_is_redacted(text, kind):
    result = filter_output({"description": text}, OutputPolicy(pii_action="redact"))
    assert f"[{kind.upper()} REDACTED]" in result.value["description"]
    assert f"pii:{kind}@description" in result.findings and not result.flagged


def test_checksums_avoid_false_positives():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("DE89 3704 0044 0532 0130 00") and not iban_ok("DE00 3704 0044 0532 0130 00")
    clean = filter_output({"d": "order 4111 1111 1111 1112, version 1.2.3.4000"}, OutputPolicy())
    assert clean.findings == [] and clean.value == {"d": "order 4111 1111 1111 1112, version 1.2.3.4000"}


def test_flag_keeps_text_and_reports_nested_paths():
    record = {"key_fields": [{"name": "contact", "value": "bob@example.org"}], "summary": "Strictly CONFIDENTIAL memo"}
    result = filter_output(record, OutputPolicy(pii_action="flag", sensitive_action="flag"))
    assert result.value == record
    assert set(result.flagged) == {"pii:email@key_fields[0].value", "sensitive:confidential@summary"}


def test_sensitive_words_configurable(tmp_path, monkeypatch):
    words = tmp_path / "words.txt"
    words.write_text("# mine\nprototype\n")
    monkeypatch.setenv("GEMINI_ASSETS_SENSITIVE_WORDS", str(words))
    result = configured().filter_output(
        {"d": "An unreleased Prototype. Confidential."}, OutputPolicy(sensitive_action="redact")
    )
    assert result.value["d"] == "An unreleased [REDACTED]. Confidential."


def test_dates_sizes_and_ids_are_not_phone_numbers():
    text = "Scanned 2026-11-20, 1280x960 pixels, order 20261120, call (030) 1234-5678"
    result = filter_output({"d": text}, OutputPolicy())
    assert result.findings == ["pii:phone@d"]
    assert result.value["d"].startswith("Scanned 2026-11-20, 1280x960 pixels, order 20261120, call [PHONE REDACTED]")


def test_a_phone_number_run_together_with_a_card_number_is_redacted_as_both():
    # One long digit run is neither a card (Luhn) nor a phone number (too many digits); the valid
    # matches inside it still count.
    text, findings = TextFilter().redact("call +44 20 7946 0958 4111 1111 1111 1111 now")
    assert text == "call [PHONE REDACTED] [CARD REDACTED] now"
    assert sorted(findings) == ["pii:card", "pii:phone"]
    assert TextFilter().redact("order 4111 1111 1111 1112 shipped") == ("order 4111 1111 1111 1112 shipped", [])


def test_context_is_redacted_before_it_reaches_a_prompt():
    task = TaskCatalog().get("product_recognition")
    text = task.user_text("red mug, call me on +44 20 7946 0958 or mail ann@shop.example", TextFilter())
    assert "Context: red mug, call me on [PHONE REDACTED] or mail [EMAIL REDACTED]" in text


def test_custom_id_patterns(tmp_path, monkeypatch):
    patterns = tmp_path / "ids.json"
    patterns.write_text('{"employee_id": "\\\\bEMP-\\\\d{6}\\\\b"}')
    monkeypatch.setenv("GEMINI_ASSETS_PII_PATTERNS", str(patterns))
    assert configured().redact("badge EMP-123456 at desk") == (
        "badge [EMPLOYEE_ID REDACTED] at desk",
        ["pii:employee_id"],
    )
    patterns.write_text("not json")
    with pytest.raises(ConfigurationError, match="GEMINI_ASSETS_PII_PATTERNS"):
        configured()
