import pytest
from google import genai
from google.genai import errors, types

from gemini_devkit.emulator.server import start_emulator


def test_request_ending_on_model_turn_is_rejected(tmp_path):
    """Gemini rejects a conversation whose last turn is the model's; so does the emulator."""
    handle = start_emulator(tmp_path / "emu")
    try:
        client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=handle.url, api_version="v1beta"))
        turns = [
            types.Content(role="user", parts=[types.Part.from_text(text="hi")]),
            types.Content(role="model", parts=[types.Part.from_text(text="hello")]),
        ]
        with pytest.raises(errors.ClientError) as caught:
            client.models.generate_content(model="gemini-3.8-flash", contents=turns)
        assert caught.value.code == 400 and "user role" in caught.value.message
        turns.append(types.Content(role="user", parts=[types.Part.from_text(text="again")]))
        assert client.models.generate_content(model="gemini-3.8-flash", contents=turns).text
    finally:
        handle.stop()
