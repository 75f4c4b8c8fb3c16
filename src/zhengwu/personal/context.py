"""The consenting citizen's ``PersonalContext``: what the assistant may use about them (profile region, tags,
service history). No consent to personalisation, no context: the rule lives here, once."""

from __future__ import annotations

from zhengwu.personal.personalise import PersonalContext
from zhengwu.personal.store import PeopleStore


def personal_context(people: PeopleStore, user_id: int | None) -> PersonalContext | None:
    """The user's profile and history, or None unless they consented to personalisation."""
    if user_id is None or not people.has_consent(user_id, "personalisation"):
        return None
    profile = people.profile(user_id)
    # Retrieval knows provinces and cities; a district narrows nothing the corpus distinguishes.
    region = profile.city or profile.province
    return PersonalContext(user_id=user_id, region=region, tags=list(profile.tags),
                           records=people.records(user_id), linked=True)
