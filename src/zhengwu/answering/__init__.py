"""Stage 5: the one ``Assistant`` every channel adapts, and the ``Answer`` it returns.

The assistant checks the question, resolves follow-ups, retrieves, checks the evidence and composes a grounded
answer (``composer``) or has an LLM write one that is then verified (``llm``); otherwise it refuses.
"""
