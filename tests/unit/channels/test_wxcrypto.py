"""WXBizMsgCrypt: Tencent's published sample vectors, round trips, and every way a callback must be refused."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from zhengwu.channels.wxcrypto import (
    BAD_PADDING,
    BAD_RECEIVE_ID,
    BAD_SIGNATURE,
    MALFORMED,
    STALE_TIMESTAMP,
    WXBizMsgCrypt,
    WXCryptoError,
    parse_xml,
    pkcs7_pad,
    pkcs7_unpad,
    sha1_signature,
)

# The official WeCom / 企业号 sample (加解密方案说明 "举例说明", and the SDKs' Sample files).
SAMPLE_TOKEN = "QDG6eK"
SAMPLE_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SAMPLE_CORP_ID = "wx5823bf96d3bd56c7"
SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJ"
    "Ts3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2"
    "hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL"
    "4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ"
    "2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
SAMPLE_POST = (
    f"<xml><ToUserName><![CDATA[{SAMPLE_CORP_ID}]]></ToUserName><Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt>"
    "<AgentID><![CDATA[218]]></AgentID></xml>"
)
# The official Official Account (公众号) Python sample.
OA_TOKEN = "spamtest"
OA_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OA_APPID = "wx2c2769f8efd9abc2"
OA_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9F"
    "rXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+"
    "WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0E"
    "IBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)


def sample(**kwargs) -> WXBizMsgCrypt:
    return WXBizMsgCrypt(SAMPLE_TOKEN, SAMPLE_KEY, SAMPLE_CORP_ID, max_skew=None, **kwargs)


def aes_key(encoding_aes_key: str) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")


def raw_decrypt(encoding_aes_key: str, encrypt: str) -> bytes:
    """Independent of the module: AES-256-CBC with IV = key[:16], nothing else."""
    key = aes_key(encoding_aes_key)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    return decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()


# -- Tencent's samples ----------------------------------------------------------------------------------------


def test_official_wecom_sample_signature_and_decryption():
    assert sha1_signature(SAMPLE_TOKEN, "1409659813", "1372623149", SAMPLE_ENCRYPT) == (
        "477715d11cdb4164915debcba66cb864d751f3e6"
    )
    xml = sample().decrypt_message(SAMPLE_POST, "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813",
                                   "1372623149")
    message = parse_xml(xml)
    assert message["ToUserName"] == SAMPLE_CORP_ID and message["FromUserName"] == "mycreate"
    assert message["Content"] == "hello" and message["MsgType"] == "text" and message["AgentID"] == "218"
    assert message["MsgId"] == "4561255354251345929"
    # the sample's ciphertext is padded to a multiple of 32 bytes, as the protocol says
    buffer = raw_decrypt(SAMPLE_KEY, SAMPLE_ENCRYPT)
    assert len(buffer) % 32 == 0 and buffer[-buffer[-1]:] == bytes([buffer[-1]]) * buffer[-1]


def test_official_wecom_sample_url_verification():
    echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    signature = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    assert sample().verify_url(signature, "1409659589", "263014780", echostr) == "1616140317555161061"
    # the '+' of an echostr that went through a naive URL decoder (as a space) still works
    assert sample().verify_url(signature, "1409659589", "263014780", echostr.replace("+", " ")) == (
        "1616140317555161061"
    )
    with pytest.raises(WXCryptoError) as caught:
        sample().verify_url(signature, "1409659589", "263014781", echostr)
    assert caught.value.reason == BAD_SIGNATURE


def test_official_account_sample_decryption():
    crypto = WXBizMsgCrypt(OA_TOKEN, OA_KEY, OA_APPID, max_skew=None)
    body = f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{OA_ENCRYPT}]]></Encrypt></xml>"
    message = parse_xml(crypto.decrypt_message(body, "5d197aaffba7e9b25a30732f161a50dee96bd5fa", "1409735669",
                                               "1320562132"))
    assert message["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs" and message["Content"] == "abcdteT"
    assert message["MsgId"] == "6054768590064713728"
    # the same ciphertext under another AppID is refused
    other = WXBizMsgCrypt(OA_TOKEN, OA_KEY, "wx0000000000000000", max_skew=None)
    with pytest.raises(WXCryptoError) as caught:
        other.decrypt_message(body, "5d197aaffba7e9b25a30732f161a50dee96bd5fa", "1409735669", "1320562132")
    assert caught.value.reason == BAD_RECEIVE_ID


# -- round trips and the buffer format ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "a", "政务服务" * 100, "<xml><Content><![CDATA[x]]></Content></xml>", "😀" * 7])
def test_round_trip(text):
    crypto = sample()
    assert crypto.decrypt(crypto.encrypt(text)) == text
    envelope = parse_xml(crypto.encrypt_message(text, nonce="12345", timestamp=1700000000))
    assert envelope["TimeStamp"] == "1700000000" and envelope["Nonce"] == "12345"
    assert envelope["MsgSignature"] == sha1_signature(SAMPLE_TOKEN, "1700000000", "12345", envelope["Encrypt"])
    assert crypto.decrypt_message(envelope["Encrypt"], envelope["MsgSignature"], "1700000000", "12345") == text


def test_buffer_layout_and_padding_to_32_bytes():
    crypto = sample()
    # 16 random + 4 length + 10 message + 18 corp id = 48 bytes: 16 mod 32, so 16 bytes of 0x10
    message = "0123456789"
    buffer = raw_decrypt(SAMPLE_KEY, crypto.encrypt(message, random_prefix=b"r" * 16))
    assert len(buffer) == 64
    assert buffer[-16:] == b"\x10" * 16
    assert buffer[:16] == b"r" * 16 and struct.unpack(">I", buffer[16:20]) == (10,)
    assert buffer[20:30] == message.encode() and buffer[30:48] == SAMPLE_CORP_ID.encode()
    # an already aligned buffer gets a whole block of 32 bytes of 0x20
    aligned = "x" * (64 - 16 - 4 - len(SAMPLE_CORP_ID))
    buffer = raw_decrypt(SAMPLE_KEY, crypto.encrypt(aligned))
    assert len(buffer) == 96 and buffer[-32:] == b"\x20" * 32
    # every length pads to a multiple of 32 with a value of 1..32
    for n in range(0, 70):
        buffer = raw_decrypt(SAMPLE_KEY, crypto.encrypt("y" * n))
        assert len(buffer) % 32 == 0 and 1 <= buffer[-1] <= 32


def test_pkcs7_helpers():
    assert pkcs7_pad(b"a" * 31) == b"a" * 31 + b"\x01"
    assert pkcs7_pad(b"") == b"\x20" * 32
    assert pkcs7_unpad(b"abc" + b"\x03" * 3) == b"abc"
    for bad in (b"abc\x00", b"abc" + b"\x21" * 33, b"ab\x02\x03\x03", b""):
        with pytest.raises(WXCryptoError) as caught:
            pkcs7_unpad(bad)
        assert caught.value.reason == BAD_PADDING


# -- refusals -------------------------------------------------------------------------------------------------


def test_tampered_ciphertext_is_refused():
    crypto = sample()
    encrypt = crypto.encrypt("<xml><Content>hello</Content></xml>")
    raw = bytearray(base64.b64decode(encrypt))
    raw[-17] ^= 0x40  # flips a bit of the last plaintext byte, the padding value: now > 32
    tampered = base64.b64encode(bytes(raw)).decode()
    # with the original signature: the signature covers the ciphertext
    signature = crypto.sign("1700000000", "1", encrypt)
    with pytest.raises(WXCryptoError) as caught:
        crypto.decrypt_message(tampered, signature, "1700000000", "1")
    assert caught.value.reason == BAD_SIGNATURE
    # even when somebody holding the token re-signs it, the padding check catches it
    with pytest.raises(WXCryptoError) as caught:
        crypto.decrypt_message(tampered, crypto.sign("1700000000", "1", tampered), "1700000000", "1")
    assert caught.value.reason == BAD_PADDING
    for junk in ("not base64!!", base64.b64encode(b"short").decode(), ""):
        with pytest.raises(WXCryptoError) as caught:
            crypto.decrypt(junk)
        assert caught.value.reason == MALFORMED


def test_wrong_receive_id_and_wrong_length_are_refused():
    theirs = WXBizMsgCrypt(SAMPLE_TOKEN, SAMPLE_KEY, "wx0000000000000000", max_skew=None)
    with pytest.raises(WXCryptoError) as caught:
        sample().decrypt(theirs.encrypt("hello"))
    assert caught.value.reason == BAD_RECEIVE_ID
    # a length field pointing past the buffer
    key = aes_key(SAMPLE_KEY)
    buffer = pkcs7_pad(b"r" * 16 + struct.pack(">I", 1000) + b"hello" + SAMPLE_CORP_ID.encode())
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    forged = base64.b64encode(encryptor.update(buffer) + encryptor.finalize()).decode()
    with pytest.raises(WXCryptoError) as caught:
        sample().decrypt(forged)
    assert caught.value.reason == MALFORMED


def test_signatures_and_timestamps():
    now = 1_700_000_000.0
    crypto = WXBizMsgCrypt("token", SAMPLE_KEY, SAMPLE_CORP_ID, max_skew=300, clock=lambda: now)
    good = hashlib.sha1("".join(sorted(["token", "1700000000", "nonce"])).encode()).hexdigest()
    crypto.check_signature(good, "1700000000", "nonce")
    crypto.check_signature(good.upper(), "1700000000", "nonce")
    for signature, timestamp, reason in (
        ("0" * 40, "1700000000", BAD_SIGNATURE),
        (None, "1700000000", BAD_SIGNATURE),
        (good, "1699999000", STALE_TIMESTAMP),
        (good, "abc", MALFORMED),
        (good, "", MALFORMED),
        (good, "²", MALFORMED),  # str.isdigit says yes, int() says no: was a 500 (issue 15 fuzzing)
    ):
        with pytest.raises(WXCryptoError) as caught:
            crypto.check_signature(signature, timestamp, "nonce")
        assert caught.value.reason == reason
    # within the window either side
    late = hashlib.sha1("".join(sorted(["token", "1700000299", "n"])).encode()).hexdigest()
    crypto.check_signature(late, "1700000299", "n")
    early = WXBizMsgCrypt("token", None, None, max_skew=300, clock=lambda: now + 301)
    with pytest.raises(WXCryptoError) as caught:
        early.check_signature(good, "1700000000", "nonce")
    assert caught.value.reason == STALE_TIMESTAMP


def test_bad_keys_are_reported_at_construction():
    for key in ("short", "!" * 43):
        with pytest.raises(WXCryptoError):
            WXBizMsgCrypt("token", key, "id")
    with pytest.raises(WXCryptoError):
        WXBizMsgCrypt("", SAMPLE_KEY, "id")


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<xml><Content>&xxe;</Content></xml>",
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        "<xml><Content>&d;</Content></xml>",
        '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd"><xml><Content>x</Content></xml>',
        "<xml><Content>unclosed</xml>",
        "<notxml><Content>x</Content></notxml>",
        "",
        b"\xff\xfe<xml/>",
    ],
)
def test_hostile_or_malformed_xml_is_refused_cleanly(xml):
    with pytest.raises(WXCryptoError) as caught:
        parse_xml(xml)
    assert caught.value.reason == MALFORMED


def test_parse_xml_reads_flat_messages():
    message = parse_xml("<xml><A><![CDATA[ x ]]></A><B>2</B><C><D>nested</D></C><A>second</A></xml>")
    assert message == {"A": "x", "B": "2", "C": ""}
