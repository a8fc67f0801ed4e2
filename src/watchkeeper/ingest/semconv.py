"""The attribute names of LLM-call spans we understand, in one place.

Three conventions are in use: the current OpenTelemetry GenAI semantic conventions, their
deprecated forebears (still emitted by older instrumentations), and OpenInference (Phoenix,
Arize). Lists are in order of preference: the first present attribute wins.
"""

from __future__ import annotations

SYSTEM_RESOURCE = ("watchkeeper.system", "service.name")

OPERATION = ("gen_ai.operation.name",)
PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
MODEL = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
OUTPUT_TOKENS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
)
FINISH_REASONS = ("gen_ai.response.finish_reasons",)

# Opt-in message content (JSON text holding a list of messages with `role` and `parts`).
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
# Deprecated span-event forms.
PROMPT_EVENT = "gen_ai.content.prompt"
PROMPT_EVENT_ATTR = "gen_ai.prompt"
COMPLETION_EVENT = "gen_ai.content.completion"
COMPLETION_EVENT_ATTR = "gen_ai.completion"
MESSAGE_EVENTS = ("gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message")
CHOICE_EVENT = "gen_ai.choice"
# Indexed attribute forms: OpenInference and the older OpenLLMetry flattening.
INDEXED_INPUT_PREFIXES = ("llm.input_messages.", "gen_ai.prompt.")
INDEXED_OUTPUT_PREFIXES = ("llm.output_messages.", "gen_ai.completion.")
OPENINFERENCE_INPUT = "input.value"
OPENINFERENCE_OUTPUT = "output.value"
OPENINFERENCE_KIND = "openinference.span.kind"

# Any of these on a span marks it as an LLM call.
MARKERS = (*OPERATION, *PROVIDER, *MODEL, OPENINFERENCE_KIND, INPUT_MESSAGES)
