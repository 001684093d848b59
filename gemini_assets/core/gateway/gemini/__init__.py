"""The Gemini provider: ModelGateway over the google-genai SDK (Developer API wire protocol)."""
