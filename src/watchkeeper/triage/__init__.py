"""Edge-case triage: rules that queue outputs for a human look, and what the verdicts say."""
