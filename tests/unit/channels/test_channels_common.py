"""What every channel shares: consent by message, sessions per channel user, transcripts owned by the user (so
deletion finds them even without consent), plain rendering and splitting."""

from __future__ import annotations

import pytest
from helpers import make_assistant

from zhengwu.answering.citations import render_plain
from zhengwu.channels.common import ChannelCore, split_text
from zhengwu.db import make_engine, upgrade
from zhengwu.personal import PeopleStore
from zhengwu.pii import mask_pii


@pytest.fixture
def core(tmp_path, fixture_settings, fixture_index):
    engine = make_engine(f"sqlite:///{tmp_path / 'people.sqlite3'}")
    upgrade(engine)
    people = PeopleStore(engine, mask=mask_pii)
    yield ChannelCore(make_assistant(fixture_settings, fixture_index, people=people), people)
    engine.dispose()


def test_consent_is_given_and_withdrawn_by_message(core):
    assert "已开启个性化" in core.handle_text("telegram", "42", "开启个性化").text
    uid = core.people.user_for("telegram", "42", create=False)
    assert core.people.has_consent(uid, "personalisation")
    assert "已关闭" in core.handle_text("telegram", "42", "关闭个性化").text
    assert not core.people.has_consent(uid, "personalisation")


def test_transcripts_belong_to_the_user_and_go_with_them(core):
    reply = core.handle_text("wechat", "o-abc", "实验动物生产许可的咨询电话是多少？")
    assert reply.answer and "020-84106805" in reply.text
    uid = core.people.user_for("wechat", "o-abc", create=False)
    assert [t.question for t in core.people.turns(user_id=uid)] == ["实验动物生产许可的咨询电话是多少？"]
    core.people.delete(uid)
    assert core.people.turns(session_id=core.session_id("wechat", "o-abc")) == []


def test_follow_ups_stay_in_the_users_own_conversation_until_reset(core):
    core.handle_text("telegram", "7", "弩的运输审批在哪里办理？")
    assert "弩" in core.handle_text("telegram", "7", "电话呢？").text
    other = core.handle_text("telegram", "8", "电话呢？")  # another user has no conversation to follow
    assert "弩" not in other.text
    core.handle_text("telegram", "7", "重新开始")
    assert "弩" not in core.handle_text("telegram", "7", "电话呢？").text


def test_plain_rendering_and_splitting(core):
    answer = core.handle_text("web", "u", "实验动物生产许可的咨询电话是多少？").answer
    text = render_plain(answer, link=lambda c: f"https://x.example/s/{c.n}")
    assert "参考来源：" in text and "https://x.example/s/1" in text
    long = "\n".join(f"第{i}行。" + "材料" * 40 for i in range(100))
    pieces = split_text(long, 500)
    assert all(len(p) <= 500 for p in pieces) and "".join(pieces).replace("\n", "") == long.replace("\n", "")
