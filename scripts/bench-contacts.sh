#!/usr/bin/env bash
# Time to import and sync a 10,000-contact phone book: generates a vCard 3.0 file, starts a
# server, logs in, then times `contacts import` (local + upload) and a two-way `contacts sync`.
# Usage: scripts/bench-contacts.sh [path/to/ringbook] [count]
set -euo pipefail
BIN=${1:-target/debug/ringbook}
N=${2:-10000}
DIR=$(mktemp -d)
trap 'kill $SRV 2>/dev/null || true; rm -rf "$DIR"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$DIR/book.vcf" "$N" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for i in range(n):
        f.write(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Contact {i}\r\nN:{i};Contact;;;\r\nTEL;TYPE=CELL:+86139{i:08d}\r\nEMAIL:c{i}@example.com\r\nEND:VCARD\r\n")
PY
"$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$DIR/server" >/dev/null 2>&1 & SRV=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
R="$BIN --server http://127.0.0.1:$PORT --home $DIR/home"
$R login --phone +8613800000001 >/dev/null
CODE=$(python3 -c 'import json,re,sys; l=json.loads(open(sys.argv[1]).read().splitlines()[-1]); t=l.get("text") or l.get("body") or ""; print(re.findall(r"\b\d{6}\b", t)[0])' "$DIR/server/sms-outbox.jsonl")
$R login --phone +8613800000001 --code "$CODE" >/dev/null
t0=$(date +%s.%N); $R contacts import "$DIR/book.vcf" | tail -2; t1=$(date +%s.%N)
$R contacts sync --phonebook "$DIR/book.vcf" | tail -3; t2=$(date +%s.%N)
$R contacts sync --phonebook "$DIR/book.vcf" >/dev/null; t3=$(date +%s.%N)
python3 -c "print(f'contacts: $N; import+upload: {$t1-$t0:.2f} s; first two-way sync: {$t2-$t1:.2f} s; no-change sync: {$t3-$t2:.2f} s')"
