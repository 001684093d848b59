"""One item through the model: call, validate, at most one repair retry."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gemini_assets.core.gateway.base import Attempt, GenerateRequest, MediaRef, ModelGateway
from gemini_assets.core.output.parse import Parsed, parse_answer
from gemini_assets.core.tasks.catalog import TaskSpec

BLOCKING_FINISH = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"})

REPAIR_PROMPT = (
    "Your previous answer was not valid for the response schema ({error}). "
    "Answer again with only the JSON object, matching the schema exactly."
)


@dataclass
class ItemOutcome:
    status: str  # ok | api_error | blocked
    text: str | None
    finish_reason: str | None
    block_reason: str | None
    parsed: Parsed
    attempts: list[Attempt] = field(default_factory=list)


def run_item(gateway: ModelGateway, task: TaskSpec, model: str, media: MediaRef, context: str | None) -> ItemOutcome:
    request = GenerateRequest(
        model=model,
        system_prompt=task.system_prompt,
        user_text=task.user_text(context),
        media=media,
        response_schema=task.response_schema,
        max_output_tokens=task.max_output_tokens,
    )
    result = gateway.generate(request)
    attempts = list(result.attempts)
    if not result.ok:
        return ItemOutcome("api_error", None, None, None, Parsed("invalid", None, "no answer"), attempts)
    # Finish and block reasons come before any parsing: a blocked or cut-off answer is not
    # a formatting problem, and a repair retry would only be blocked or cut off again.
    if result.block_reason or result.finish_reason in BLOCKING_FINISH or result.finish_reason is None:
        blocked = Parsed("invalid", None, f"blocked: {result.block_reason or result.finish_reason or 'no candidate'}")
        return ItemOutcome("blocked", result.text, result.finish_reason, result.block_reason, blocked, attempts)
    if result.finish_reason == "MAX_TOKENS":
        truncated = Parsed("invalid", None, "answer truncated at max_output_tokens")
        return ItemOutcome("ok", result.text, result.finish_reason, None, truncated, attempts)
    parsed = parse_answer(result.text, task.output_model)
    if parsed.ok:
        return ItemOutcome("ok", result.text, result.finish_reason, None, parsed, attempts)
    # Exactly one repair retry. The conversation must end on a user turn: Gemini rejects a
    # request whose last turn is the model's.
    previous = result.text or "(empty answer)"  # an empty model turn is itself invalid
    repair = replace(request, history=(("model", previous), ("user", REPAIR_PROMPT.format(error=parsed.error))))
    second = gateway.generate(repair, first_attempt=len(attempts) + 1)
    for attempt in second.attempts:
        attempt.purpose = "repair"
    attempts.extend(second.attempts)
    if not second.ok:
        return ItemOutcome("ok", result.text, result.finish_reason, None, parsed, attempts)
    reparsed = parse_answer(second.text, task.output_model)
    if reparsed.ok:
        reparsed = Parsed("repaired", reparsed.value, None)
    return ItemOutcome("ok", second.text, second.finish_reason, None, reparsed, attempts)
