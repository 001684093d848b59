"""One item through the model: call, validate, at most one repair retry."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gemini_assets.core.contracts.calls import Attempt, AttemptJournal, GenerateRequest, GenerateResult, MediaRef
from gemini_assets.core.contracts.enums import CallPurpose, OutputStatus, ParseStatus
from gemini_assets.core.contracts.reasons import BLOCKING_FINISH_REASONS, TRUNCATED_FINISH_REASON
from gemini_assets.core.gateway.base import ModelGateway
from gemini_assets.core.output.parse import Parsed, invalid, parse_answer
from gemini_assets.core.privacy.filters import TextFilter
from gemini_assets.core.tasks.catalog import TaskSpec

REPAIR_PROMPT = (
    "Your previous answer was not valid for the response schema ({error}). "
    "Answer again with only the JSON object, matching the schema exactly."
)


@dataclass
class ItemOutcome:
    status: OutputStatus  # ok | api_error | blocked
    text: str | None
    finish_reason: str | None
    block_reason: str | None
    parsed: Parsed
    attempts: list[Attempt] = field(default_factory=list)


def first_request(
    task: TaskSpec,
    model: str,
    media: MediaRef,
    context: str | None,
    text_filter: TextFilter,
    journal: AttemptJournal | None = None,
) -> GenerateRequest:
    """The request an item's answer starts with (online, or as a batch line)."""
    return GenerateRequest(
        model=model,
        system_prompt=task.system_prompt,
        user_text=task.user_text(context, text_filter),
        media=media,
        response_schema=task.response_schema,
        max_output_tokens=task.max_output_tokens,
        journal=journal,
    )


def run_item(gateway: ModelGateway, task: TaskSpec, request: GenerateRequest, first_attempt: int = 1) -> ItemOutcome:
    """Call, then judge the answer with at most one repair retry."""
    return finish_item(gateway, task, request, gateway.generate(request, first_attempt))


def finish_item(gateway: ModelGateway, task: TaskSpec, request: GenerateRequest, result: GenerateResult) -> ItemOutcome:
    """Judge a first answer (online, or a batch line) and make the one repair retry if needed."""
    attempts = list(result.attempts)
    if not result.ok:
        return ItemOutcome(OutputStatus.API_ERROR, None, None, None, invalid("no answer"), attempts)
    # Finish and block reasons come before any parsing: a blocked or cut-off answer is not
    # a formatting problem, and a repair retry would only be blocked or cut off again.
    if result.block_reason or result.finish_reason in BLOCKING_FINISH_REASONS or result.finish_reason is None:
        blocked = invalid(f"blocked: {result.block_reason or result.finish_reason or 'no candidate'}")
        return ItemOutcome(
            OutputStatus.BLOCKED, result.text, result.finish_reason, result.block_reason, blocked, attempts
        )
    if result.finish_reason == TRUNCATED_FINISH_REASON:
        truncated = invalid("answer truncated at max_output_tokens")
        return ItemOutcome(OutputStatus.OK, result.text, result.finish_reason, None, truncated, attempts)
    parsed = parse_answer(result.text, task.output_model)
    if parsed.ok:
        return ItemOutcome(OutputStatus.OK, result.text, result.finish_reason, None, parsed, attempts)
    # Exactly one repair retry. The conversation must end on a user turn: Gemini rejects a
    # request whose last turn is the model's.
    previous = result.text or "(empty answer)"  # an empty model turn is itself invalid
    repair = replace(
        request,
        history=(("model", previous), ("user", REPAIR_PROMPT.format(error=parsed.error))),
        purpose=CallPurpose.REPAIR,
    )
    second = gateway.generate(repair, first_attempt=attempts[-1].attempt + 1)
    attempts.extend(second.attempts)
    if not second.ok:
        return ItemOutcome(OutputStatus.OK, result.text, result.finish_reason, None, parsed, attempts)
    reparsed = parse_answer(second.text, task.output_model)
    if reparsed.ok:
        reparsed = Parsed(ParseStatus.REPAIRED, reparsed.value, None)
    return ItemOutcome(OutputStatus.OK, second.text, second.finish_reason, None, reparsed, attempts)
