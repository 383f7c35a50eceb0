"""LLM providers (the official SDKs) and the model catalogue."""
