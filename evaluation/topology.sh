#!/usr/bin/env bash
# The 2-worker production topology on loopback for the load benchmark: `chroma run` server + PostgreSQL + Redis.
# Copies an index built with the default settings (SOURCE_DATA, default ~/.local/share/zhengwu) so nothing is
# re-embedded; the vectors go into the Chroma server at start (repair from the embedding cache).
#   bash evaluation/topology.sh && python evaluation/load_benchmark.py --url http://127.0.0.1:8799 --clients 20
#   stop: kill -INT $(cat $TOPO/serve.pid); kill $(cat $TOPO/chroma.pid)
set -euo pipefail
cd "$(dirname "$0")/.."
SOURCE_DATA=${SOURCE_DATA:-${ZHENGWU_DATA_DIR:-$HOME/.local/share/zhengwu}}
TOPO=${TOPO:-/tmp/zhengwu-topology}
rm -rf "$TOPO" && mkdir -p "$TOPO/data"
cp -r "$SOURCE_DATA/index" "$TOPO/data/index"
cp "$SOURCE_DATA/embedding_cache.sqlite3" "$TOPO/data/"
psql -h 127.0.0.1 -U root -d test -qc "DROP DATABASE IF EXISTS zhengwu_bench WITH (FORCE)" -qc "CREATE DATABASE zhengwu_bench"
.venv/bin/chroma run --host 127.0.0.1 --port 8765 --path $TOPO/chroma > $TOPO/chroma.log 2>&1 &
echo $! > $TOPO/chroma.pid
sleep 5
export ZHENGWU_DATA_DIR=$TOPO/data ZHENGWU_CHROMA_URL=http://127.0.0.1:8765 ZHENGWU_COLLECTION=bench \
  ZHENGWU_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/zhengwu_bench ZHENGWU_REDIS_URL=redis://127.0.0.1:6379/3 \
  ZHENGWU_RATE_LIMIT_PER_MINUTE=0 ZHENGWU_ADMIN_TOKEN=bench-token TQDM_DISABLE=1
.venv/bin/zhengwu serve --port 8799 --workers 2 > $TOPO/serve.log 2>&1 &
echo $! > $TOPO/serve.pid
for i in $(seq 1 300); do curl -sf http://127.0.0.1:8799/readyz >/dev/null && break; sleep 1; done
curl -s http://127.0.0.1:8799/readyz; echo
