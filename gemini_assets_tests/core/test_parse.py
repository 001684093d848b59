from gemini_assets.core.output.parse import parse_answer
from gemini_assets.core.tasks.catalog import ProductRecognition

GOOD = (
    '{"product_name": "red mug", "category": "kitchenware", "dominant_colors": ["red"], '
    '"description": "A mug.", "confidence": 0.9}'
)


def test_valid_json():
    parsed = parse_answer(GOOD, ProductRecognition)
    assert parsed.status == "valid" and parsed.value["category"] == "kitchenware"


def test_fenced_json_counts_as_repaired():
    parsed = parse_answer(f"```json\n{GOOD}\n```", ProductRecognition)
    assert parsed.status == "repaired" and parsed.value["product_name"] == "red mug"


def test_invalid_shapes():
    assert parse_answer("", ProductRecognition).error == "empty answer"
    assert parse_answer(GOOD[:40], ProductRecognition).error.startswith("not JSON")
    wrong_enum = GOOD.replace("kitchenware", "spaceship")
    assert "category" in parse_answer(wrong_enum, ProductRecognition).error
    extra = GOOD[:-1] + ', "price": 3}'
    assert "price" in parse_answer(extra, ProductRecognition).error
    too_many = GOOD.replace('["red"]', '["red", "blue", "green", "black"]')
    assert "dominant_colors" in parse_answer(too_many, ProductRecognition).error
