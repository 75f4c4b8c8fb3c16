"""The chunk store's cached reads follow its writes, this process's and another's."""

from __future__ import annotations

from helpers import store_documents

from zhengwu.documents import Document
from zhengwu.index.store import ChunkStore

GUIDE = """# 犬只登记

## 申请材料
- 身份证

## 咨询电话
{phone}
"""


def guide(phone: str) -> Document:
    return Document(doc_id="dog", title="犬只登记", body=GUIDE.format(phone=phone), doc_type="service_guide",
                    region="广州市", department="公安局", source_url="https://gov.example/dog",
                    extra={"item_name": "犬只登记"})


def test_the_fields_of_a_document_follow_every_writer(tmp_path):
    path = tmp_path / "chunks.sqlite3"
    worker, indexer = ChunkStore(path), ChunkStore(path)  # two processes' connections to one store
    store_documents(indexer, [guide("020-12345678")])
    assert "phone" in worker.fields_of(["dog"])["dog"]
    store_documents(indexer, [guide("无")])  # another process re-indexed: the phone is gone
    assert "phone" not in worker.fields_of(["dog"])["dog"]
    store_documents(worker, [guide("020-87654321")])  # and this connection's own write
    assert "phone" in worker.fields_of(["dog"])["dog"]
    worker.delete_documents(["dog"])
    assert worker.fields_of(["dog"]) == {"dog": set()}


def test_cached_chunks_follow_every_writer(tmp_path):
    path = tmp_path / "chunks.sqlite3"
    worker, indexer = ChunkStore(path), ChunkStore(path)
    store_documents(indexer, [guide("020-12345678")])
    phone = [c for c in worker.chunks_of("dog") if c.field == "phone"][0].chunk_id
    assert "020-12345678" in worker.get_chunks([phone])[phone].text
    assert worker.get_chunks([phone, "no-such-chunk"]).keys() == {phone}
    store_documents(indexer, [guide("020-55556666")])  # another process re-indexed the guide
    assert "020-55556666" in worker.get_chunks([phone])[phone].text
    worker.delete_documents(["dog"])
    assert worker.get_chunks([phone]) == {}
