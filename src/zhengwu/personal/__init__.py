"""Citizens' personal data under 个人信息保护法: the people store (identities, consent, service history,
transcripts, reminders, audit), history import, personalisation and life events."""
