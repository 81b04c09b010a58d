#!/usr/bin/env bash
# A real Chroma server on 127.0.0.1 for the store's tests.
#   .ci/chroma_server.sh start [PORT]   starts it (fresh data), waits until it answers, prints its URL
#   .ci/chroma_server.sh stop [PORT]    stops it and deletes its data
# Tests use it through LINERNOTES_TEST_CHROMA_URL:
#   export LINERNOTES_TEST_CHROMA_URL="$(.ci/chroma_server.sh start)"
set -euo pipefail
action="${1:?usage: chroma_server.sh start|stop [PORT]}"
port="${2:-8765}"
root="$(cd "$(dirname "$0")/.." && pwd)"
chroma="${CHROMA:-$root/.venv/bin/chroma}"
[ -x "$chroma" ] || chroma="$(command -v chroma)"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3)"
state="${TMPDIR:-/tmp}/linernotes-chroma-$port"
url="http://127.0.0.1:$port"

case "$action" in
  start)
    if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      echo "a Chroma server from this script already runs on port $port" >&2
      exit 1
    fi
    rm -rf "$state" && mkdir -p "$state/data"
    # Chroma's server sends no telemetry when this is off.
    ANONYMIZED_TELEMETRY=False nohup "$chroma" run --host 127.0.0.1 --port "$port" \
      --path "$state/data" >"$state/log" 2>&1 &
    echo $! >"$state/pid"
    for _ in $(seq 1 120); do
      if "$python" -c "import urllib.request; urllib.request.urlopen('$url/api/v2/heartbeat', timeout=1)" 2>/dev/null; then
        echo "$url"
        exit 0
      fi
      kill -0 "$(cat "$state/pid")" 2>/dev/null || break
      sleep 0.5
    done
    echo "Chroma server did not start on port $port; its log:" >&2
    cat "$state/log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$state/pid" ]; then
      pid="$(cat "$state/pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    rm -rf "$state"
    ;;
  *)
    echo "usage: chroma_server.sh start|stop [PORT]" >&2
    exit 2
    ;;
esac
