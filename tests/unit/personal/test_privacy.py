"""PII recognition, masking (also in logs) and field encryption. Every ID number here is invented: its check
character is computed by the test, so it belongs to nobody known."""

from __future__ import annotations

import base64
import io
import logging
from datetime import date, timedelta

import pytest

from zhengwu.personal import FieldCipher
from zhengwu.pii import (
    PiiFilter,
    contains_pii,
    id_check_char,
    install_log_masking,
    mask_pii,
    valid_id_number,
)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(first17: str) -> str:
    """Independent of the module under test: the GB 11643-1999 check character, computed here."""
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


VALID = make_id("44010619900101123")  # 440106199001011235
VALID_X = make_id("44010419880808100")  # ends in X


def test_constructed_numbers_are_valid():
    assert VALID == "440106199001011235"
    assert VALID_X.endswith("X")
    assert id_check_char(VALID[:17]) == VALID[-1]
    for first17 in ("11010520000229401", "44011120100315567", "65010219000101002"):
        assert valid_id_number(make_id(first17))


def test_lowercase_x_is_accepted():
    assert valid_id_number(VALID_X.lower())


@pytest.mark.parametrize(
    "value",
    [
        VALID[:17] + str((int(VALID[17]) + 1) % 10),  # wrong check digit
        VALID[:-1],  # 17 characters
        VALID + "0",  # 19 characters
        "04010619900101123" + "0",  # address code cannot start with 0
        make_id("44010619900230123"),  # 30 February
        make_id("44010618991231123"),  # born before 1900
        "44010619900101123Y",
        "",
        "４４０１０６１９９００１０１１２３５",  # full-width digits are not an ID number as written
    ],
)
def test_invalid_numbers(value):
    assert not valid_id_number(value)


def test_a_birth_date_after_today_is_invalid():
    # Computed when the test runs, not when it is collected: a run that crosses midnight must not flip it.
    tomorrow = (date.today() + timedelta(days=1)).strftime("%Y%m%d")
    assert not valid_id_number(make_id("440106" + tomorrow + "123"))


def test_mask_id_number_in_chinese_text():
    text = f"申请人身份证号{VALID}，另一位：{VALID_X.lower()}。"
    masked = mask_pii(text)
    assert VALID not in masked and VALID_X.lower() not in masked
    assert "440106********1235" in masked
    assert "440104********100x" in masked
    assert len(masked) == len(text)
    assert masked.startswith("申请人身份证号") and masked.endswith("。")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("手机13812345678", "手机138****5678"),
        ("电话 138 1234 5678 联系", "电话 138 **** 5678 联系"),
        ("电话138-1234-5678。", "电话138-****-5678。"),
        ("+86 13912345678", "+86 139****5678"),
        ("+8613912345678", "+86139****5678"),
        ("86-15012345678", "86-150****5678"),
        ("联系人：王小明（17712345678）", "联系人：王小明（177****5678）"),
    ],
)
def test_mask_mobile(text, expected):
    assert mask_pii(text) == expected
    assert contains_pii(text)


@pytest.mark.parametrize(
    "text",
    [
        "咨询电话：020-84106805",
        "请拨打12345政务服务热线",
        "事项编码11440100007483180K344010900200106",
        "事项编码11440000553612461J2442111665002",
        # a valid ID number embedded in a longer digit run is part of a code, not an ID number
        f"编号9{VALID}7",
        VALID[:17] + "0",  # fails the checksum (VALID ends in 5)
        "12112345678",  # 121... is not a mobile prefix
        "138123456789",  # 12 digits
        "日期2024-01-02 13:45，传真 (020) 8888 6666",
    ],
)
def test_text_without_pii_is_untouched(text):
    assert mask_pii(text) == text
    assert not contains_pii(text)


def test_full_width_digits_are_masked():
    wide = VALID.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert not valid_id_number(wide)  # the validator wants the number as stored: ASCII
    assert mask_pii(f"身份证{wide}") == "身份证" + wide[:6] + "********" + wide[-4:]
    assert mask_pii("手机１３８１２３４５６７８") == "手机１３８****５６７８"


def test_mask_pii_is_idempotent():
    once = mask_pii(f"{VALID} 13812345678")
    assert mask_pii(once) == once
    assert not contains_pii(once)


@pytest.fixture
def captured_logger():
    """The real 'zhengwu' logger with a StringIO handler; restored afterwards."""
    logger = logging.getLogger("zhengwu")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, handler, stream
    logger.removeHandler(handler)
    logger.setLevel(old_level)
    targets = [logging.lastResort, *logging.root.handlers, logger]
    targets += [each for name, each in logging.root.manager.loggerDict.items() if name.startswith("zhengwu.")]
    for target in targets:
        for existing in list(getattr(target, "filters", [])):
            if isinstance(existing, PiiFilter):
                target.removeFilter(existing)


def test_logging_masks_pii(captured_logger):
    logger, handler, stream = captured_logger
    install_log_masking("zhengwu")
    install_log_masking("zhengwu")  # idempotent
    assert sum(isinstance(f, PiiFilter) for f in handler.filters) == 1
    assert sum(isinstance(f, PiiFilter) for f in logger.filters) == 1

    logger.info("import for %s failed", VALID)
    logging.getLogger("zhengwu.history").warning("line %d: phone %s", 3, "138 1234 5678")
    logger.info("number split across args: %s%s", VALID[:9], VALID[9:])
    logger.info({"id": VALID})  # a non-string message
    logger.info("bad format %s %s", VALID)  # too few args: still logged, still masked
    try:
        raise ValueError(f"bad id {VALID}")
    except ValueError:
        logger.exception("import crashed")

    output = stream.getvalue()
    assert VALID not in output
    assert "13812345678" not in output.replace(" ", "")
    assert "440106********1235" in output
    assert "138 **** 5678" in output
    assert "ValueError: bad id 440106********1235" in output
    assert "bad format" in output


def test_filtered_record_still_formats():
    record = logging.LogRecord("zhengwu", logging.INFO, __file__, 1, "id %s phone %s", (VALID, "13812345678"), None)
    assert PiiFilter().filter(record)
    assert record.args == ()
    assert record.getMessage() == "id 440106********1235 phone 138****5678"
    assert "138****5678" in logging.Formatter("%(asctime)s %(message)s").format(record)


# --- FieldCipher -----------------------------------------------------------------------------------------------


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher.from_env({"ZHENGWU_DATA_KEY": FieldCipher.generate_key()})


def test_round_trip(cipher):
    for value in (VALID, "张三 13812345678", "", "😀 emoji"):
        token = cipher.encrypt(value)
        assert token.startswith("v1:")
        assert value == "" or value not in token
        assert cipher.decrypt(token) == value


def test_nonce_is_random(cipher):
    first, second = cipher.encrypt(VALID), cipher.encrypt(VALID)
    assert first != second
    raw = [base64.urlsafe_b64decode(t[3:]) for t in (first, second)]
    assert raw[0][:12] != raw[1][:12]


def test_tampering_is_detected(cipher):
    token = cipher.encrypt(VALID)
    raw = bytearray(base64.urlsafe_b64decode(token[3:]))
    raw[20] ^= 0x01
    tampered = "v1:" + base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(ValueError, match="altered"):
        cipher.decrypt(tampered)
    with pytest.raises(ValueError, match="damaged"):
        cipher.decrypt("v1:abc")
    with pytest.raises(ValueError, match="v1:"):
        cipher.decrypt(VALID)


def test_wrong_key(cipher):
    other = FieldCipher.from_env({"ZHENGWU_DATA_KEY": FieldCipher.generate_key()})
    with pytest.raises(ValueError, match="different ZHENGWU_DATA_KEY"):
        other.decrypt(cipher.encrypt(VALID))


def test_key_from_env_accepts_both_base64_alphabets():
    key = bytes(range(250, 256)) + bytes(range(26))  # 32 bytes whose encodings differ (+/ versus -_)
    standard, urlsafe = base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()
    assert standard != urlsafe
    a = FieldCipher.from_env({"ZHENGWU_DATA_KEY": standard})
    b = FieldCipher.from_env({"ZHENGWU_DATA_KEY": urlsafe.rstrip("=")})
    assert b.decrypt(a.encrypt("x")) == "x"


@pytest.mark.parametrize("value", ["", "not base64!!", base64.b64encode(b"short").decode()])
def test_bad_key_tells_the_operator_what_to_do(value):
    with pytest.raises(ValueError, match="ZHENGWU_DATA_KEY") as info:
        FieldCipher.from_env({"ZHENGWU_DATA_KEY": value})
    assert "base64.urlsafe_b64encode(os.urandom(32))" in str(info.value)


def test_from_env_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("ZHENGWU_DATA_KEY", FieldCipher.generate_key())
    assert FieldCipher.from_env().decrypt(FieldCipher.from_env().encrypt("a")) == "a"
    monkeypatch.delenv("ZHENGWU_DATA_KEY")
    with pytest.raises(ValueError, match="not set"):
        FieldCipher.from_env()


def test_key_is_not_in_repr():
    key = FieldCipher.generate_key()
    assert key not in repr(FieldCipher.from_env({"ZHENGWU_DATA_KEY": key}))


def test_blind_index_stable_normalised_and_key_dependent(cipher):
    index = cipher.blind_index(VALID_X)
    assert index == cipher.blind_index(f"  {VALID_X.lower()} ")
    assert len(index) == 64 and int(index, 16) >= 0
    assert index != cipher.blind_index(VALID)
    other = FieldCipher.from_env({"ZHENGWU_DATA_KEY": FieldCipher.generate_key()})
    assert other.blind_index(VALID_X) != index
    same_key = FieldCipher(base64.urlsafe_b64decode(FieldCipher.generate_key()))
    assert same_key.blind_index("a") == same_key.blind_index("A")
