"""What a channel knows about the asker, passed to ``Assistant.ask``."""

from __future__ import annotations

from dataclasses import dataclass, field

from zhengwu.answering.seams import PersonalContext


@dataclass
class UserContext:
    """``region`` is honoured only as the user's stated place.

    ``personal`` is set only when the user consented to personalisation (PIPL): their profile region, tags
    and service history. Without it the assistant gives everyone the same grounded answer."""

    region: str | None = None
    profile: dict = field(default_factory=dict)
    personal: PersonalContext | None = None
    # The channel user the conversation belongs to, consenting or not: their session and transcript are
    # linked to it so that export and deletion find them. Never used to shape the answer.
    user_id: int | None = None
    # Who is asking when the channel knows it but the people store may not (a portal-signed citizen who never
    # consented has no user row): an opaque key, so that their conversation is bound to them.
    asker: str | None = None

    @property
    def owner(self) -> int | None:
        """Whose conversation this is: the channel user, else the consenting user's own id."""
        return self.user_id or (self.personal.user_id if self.personal else None)

    @property
    def binding(self) -> str | None:
        """The key a conversation is bound to (``sessions.owner_of``): the asker's, else the user id."""
        if self.asker:
            return self.asker
        return str(self.owner) if self.owner is not None else None
