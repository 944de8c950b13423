#!/usr/bin/env bash
# Starts a throw-away Kannel for the Kannel test suite — bearerbox, smsbox and fakesmsc (the fake
# SMS centre) on free loopback ports — configured with the blocks of docs/sms-gateways.md as
# written (only ports, folders and secrets replaced), and prints what the suite needs.
# Usage: eval "$(scripts/test-kannel.sh)"   → exports RINGBOOK_TEST_KANNEL (its folder)
#        scripts/test-kannel.sh stop
# Needs Debian's kannel and kannel-extras (apt-get install -y kannel kannel-extras) and python3.
# Safe to run twice: a Kannel it started before is stopped first.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${RINGBOOK_TEST_KANNEL_DIR:-/tmp/ringbook-test-kannel}
FAKESMSC=/usr/lib/kannel/test/fakesmsc

stop() {
  for name in fakesmsc smsbox bearerbox fifo-holder; do
    if [ -f "$DIR/$name.pid" ]; then
      kill "$(cat "$DIR/$name.pid")" 2>/dev/null || true
      rm -f "$DIR/$name.pid"
    fi
  done
}

if [ "${1:-}" = stop ]; then
  stop
  exit 0
fi

for bin in /usr/sbin/bearerbox /usr/sbin/smsbox "$FAKESMSC"; do
  if [ ! -x "$bin" ]; then
    echo "$bin is missing: apt-get install -y kannel kannel-extras" >&2
    exit 1
  fi
done

stop
rm -rf "$DIR"
mkdir -p "$DIR"

# The fenced block after the marker line "<!-- test-kannel: NAME -->" in the doc.
block() {
  awk -v marker="<!-- test-kannel: $1 -->" '
    $0 == marker { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }
  ' docs/sms-gateways.md
}

# Five free loopback ports: admin, smsbox, sendsms, fake SMS centre, Ringbook.
read -r ADMIN BOX SENDSMS SMSC RINGBOOK < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks: s.close()')
SENDSMS_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
CALLBACK_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
ADMIN_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(12))')

substitute() {
  sed -e "s/\b13000\b/$ADMIN/g" -e "s/\b13001\b/$BOX/g" -e "s/\b13013\b/$SENDSMS/g" \
      -e "s/\b10000\b/$SMSC/g" -e "s/127\.0\.0\.1:8080/127.0.0.1:$RINGBOOK/g" \
      -e "s#/var/log/kannel#$DIR#g" -e "s#/var/spool/kannel#$DIR#g" \
      -e "s/sendsms-password-change-me/$SENDSMS_PASSWORD/g" \
      -e "s/callback-key-change-me/$CALLBACK_KEY/g" \
      -e "s/admin-password-change-me/$ADMIN_PASSWORD/g"
}
block kannel.conf | substitute >"$DIR/kannel.conf"
block ringbook.toml | substitute >"$DIR/ringbook.toml"
if ! grep -q '^group = sms-service' "$DIR/kannel.conf" || ! grep -q '^\[sms\]' "$DIR/ringbook.toml"; then
  echo "the configuration blocks were not found in docs/sms-gateways.md" >&2
  exit 1
fi

status() {
  python3 - "$ADMIN" "$ADMIN_PASSWORD" <<'EOF' 2>/dev/null || true
import sys, urllib.request
port, pw = sys.argv[1], sys.argv[2]
print(urllib.request.urlopen(f"http://127.0.0.1:{port}/status.txt?password={pw}", timeout=2).read().decode())
EOF
}
wait_for() { # what, test command
  for _ in $(seq 1 100); do
    if eval "$2"; then return 0; fi
    sleep 0.1
  done
  echo "Kannel did not come up ($1); see $DIR/*.log" >&2
  tail -n 20 "$DIR"/*.log >&2 || true
  stop
  exit 1
}

/usr/sbin/bearerbox "$DIR/kannel.conf" >"$DIR/bearerbox.out" 2>&1 &
echo $! >"$DIR/bearerbox.pid"
wait_for "bearerbox" 'status | grep -q "SMSC connections"'

# fakesmsc reads the texts "from phones" from a named pipe (one line each), which a holder keeps
# open so that fakesmsc never sees its end.
mkfifo "$DIR/fakesmsc.in"
sleep infinity >"$DIR/fakesmsc.in" &
echo $! >"$DIR/fifo-holder.pid"
"$FAKESMSC" -H 127.0.0.1 -r "$SMSC" -i 0 <"$DIR/fakesmsc.in" >"$DIR/fakesmsc.log" 2>&1 &
echo $! >"$DIR/fakesmsc.pid"

/usr/sbin/smsbox "$DIR/kannel.conf" >"$DIR/smsbox.out" 2>&1 &
echo $! >"$DIR/smsbox.pid"
wait_for "fake SMS centre online and smsbox connected" \
  'status | grep -q "fake.*online" && status | grep -q "smsbox:"'
wait_for "sendsms listening" "(exec 3<>/dev/tcp/127.0.0.1/$SENDSMS) 2>/dev/null"

echo "export RINGBOOK_TEST_KANNEL=$DIR"
