"""Getting what the system saw and said into the store: observation and feedback batches,
dead letters for what could not be read, and OTLP traces of LLM calls."""
