"""No 身份证号 or 手机号 in clear on disk: a turn whose question spells the numbers as people write them is logged
through the people store as the service opens it (SQLite under the data directory, the real ``mask_pii``), and
the raw bytes of the database file and its write-ahead log are searched for the numbers in any spelling."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from helpers import make_settings

from zhengwu.personal import open_people_store

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


ID_A = make_id("44010619850202001")
ID_B = make_id("44010619850303002")
ID_C = make_id("44010619850606005")
ID_D = make_id("44010419880808100")  # ends in X
MOBILE_A, MOBILE_B, MOBILE_C, MOBILE_D = "13540057005", "13812345678", "15988776655", "17722334455"
_WIDE = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

QUESTION = (
    f"我的身份证是{ID_A[:6]} {ID_A[6:14]} {ID_A[14:]}，"
    f"我爱人的是{ID_B[:6]}-{ID_B[6:14]}-{ID_B[14:]}，"
    f"孩子ID{ID_C}，老人的是{ID_D[:6].translate(_WIDE)}\u3000{ID_D[6:14].translate(_WIDE)}\u3000"
    f"{ID_D[14:].translate(_WIDE)}。电话Tel{MOBILE_A}，或+86 {MOBILE_B[:3]} {MOBILE_B[3:7]} {MOBILE_B[7:]}，"
    f"或{MOBILE_C[:3]}.{MOBILE_C[3:7]}.{MOBILE_C[7:]}，"
    f"或{MOBILE_D[:3]}\u200b{MOBILE_D[3:5]}\u200d{MOBILE_D[5:7]}\ufeff-{MOBILE_D[7:]}，怎么办居住证？"
)
ANSWER = f"已记录您的电话{MOBILE_B[:3]}-{MOBILE_B[3:7]}-{MOBILE_B[7:]}，请携带身份证原件。"


def _readable(raw: bytes) -> str:
    """The bytes as anyone reading the file would: UTF-8, NFKC, without separators and invisible characters."""
    text = unicodedata.normalize("NFKC", raw.decode("utf-8", errors="ignore"))
    return re.sub(r"[\s\-.\u200b-\u200f\u2060\ufeff]", "", text)


def _assert_nothing_in_clear(path: Path) -> None:
    raw = path.read_bytes()
    readable = _readable(raw)
    for spelled in (QUESTION, ANSWER):
        for fragment in re.findall(r"[0-9０-９][0-9０-９ \-.\u3000\u200b\u200d\ufeffＸ]{6,}", spelled):
            assert fragment.encode() not in raw, (path.name, fragment)
    for number in (ID_A, ID_B, ID_C, ID_D):
        assert number not in readable and number[6:14] not in readable, (path.name, number)
    for mobile in (MOBILE_A, MOBILE_B, MOBILE_C, MOBILE_D):
        assert mobile not in readable and mobile[:7] not in readable and mobile[3:] not in readable, (path.name, mobile)


def test_numbers_in_any_spelling_never_reach_the_database_files(tmp_path, monkeypatch):
    monkeypatch.delenv("ZHENGWU_DATA_KEY", raising=False)
    settings = make_settings(tmp_path / "data", database_url=None)
    people = open_people_store(settings)
    user_id = people.user_for("web", "a" * 32)
    people.log_turn("a" * 32, user_id, "web", QUESTION, ANSWER, "refused", reason="handoff",
                    handoff={"category": "户籍", "department": "公安局", "place": f"天河区 Tel{MOBILE_A}"})

    stored = people.turns(user_id=user_id)[0]
    assert f"{ID_A[:6]} ******** {ID_A[14:]}" in stored.question and f"Tel{MOBILE_A[:3]}****" in stored.question
    assert stored.handoff["place"] == f"天河区 Tel{MOBILE_A[:3]}****{MOBILE_A[7:]}"
    database = settings.data_dir / "zhengwu.sqlite3"
    wal = Path(f"{database}-wal")
    assert wal.exists() and wal.stat().st_size > 0  # the turn is still in the log, not yet checkpointed
    _assert_nothing_in_clear(database)
    _assert_nothing_in_clear(wal)
    assert people.export(user_id)["conversation_turns"]  # what the citizen gets back is the masked text, nothing else
    assert ID_A[6:14] not in _readable(repr(people.export(user_id)).encode())

    people.engine.dispose()  # the last connection checkpoints the log into the database file
    _assert_nothing_in_clear(database)
