#!/usr/bin/env bash
# Acceptance walkthrough: drive a real `tv-adapter serve` with nothing but curl.
# Mint, refuse bad callers and bad bodies, log out, then kill -9 and restart on the same data
# directory: revocations and unrevoked tokens must survive. Never prints a secret or a token.
# TV_ADAPTER names the executable (default: tv-adapter on PATH).
set -euo pipefail

TV_ADAPTER=${TV_ADAPTER:-tv-adapter}
unset TV_ADAPTER_BROKER_SECRET # the server refuses it together with --generate-secret

DIR=$(mktemp -d)
PID=""
STATUS=""
BODY=""

stop_server() {
    [ -n "$PID" ] || return 0
    kill "$PID" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
}
trap 'stop_server; rm -rf "$DIR"' EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS  $1"; }
fail() {
    echo "FAIL  $1" >&2
    exit 1
}

# start_server LOG: start in the background, wait for the banner, set PID and URL.
start_server() {
    local log=$1
    : >"$log"
    "$TV_ADAPTER" serve --port 0 --data-dir "$DIR" --generate-secret >"$log" 2>&1 &
    PID=$!
    URL=""
    for ((i = 0; i < 100; i++)); do
        URL=$(sed -n 's/.* listening on \([^ ]*\).*/\1/p' "$log" | head -n1)
        [ -n "$URL" ] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$URL" ]; then
        echo "--- server log ---" >&2
        echo "$(<"$log")" >&2
        fail "server start: expected a ' listening on ' banner within 10 s"
    fi
}

# call METHOD PATH AUTH BODY: AUTH "" sends no Authorization header, BODY "" sends no body.
# Sets STATUS and BODY.
call() {
    local method=$1 path=$2 auth=$3 body=$4
    local args=(-sS --max-time 5 -o "$DIR/response" -w '%{http_code}' -X "$method")
    if [ -n "$auth" ]; then
        args+=(-H "Authorization: Bearer $auth")
    fi
    if [ -n "$body" ]; then
        args+=(-H "Content-Type: application/json" --data-binary @-)
    fi
    STATUS=$(printf '%s' "$body" | curl "${args[@]}" "$URL$path") || STATUS="curl failed"
    BODY=""
    if [ -f "$DIR/response" ]; then
        BODY=$(<"$DIR/response")
        rm -f "$DIR/response"
    fi
}

# expect NAME STATUS PATTERN: the last answer had this status and its body contains PATTERN.
# Only for answers that cannot hold a token (errors and logouts), as it prints the body.
expect() {
    local name=$1 status=$2 pattern=$3
    if [ "$STATUS" != "$status" ] || ! grep -qF -- "$pattern" <<<"$BODY"; then
        fail "$name: expected HTTP $status with $pattern, got HTTP $STATUS: $BODY"
    fi
    pass "$name"
}

# mint NAME: POST the source document's example and set TOKEN; never prints the body.
mint() {
    call POST /generate/token "$SECRET" "$EXAMPLE"
    TOKEN=$(sed -n 's/^{"s":"ok","d":"\([^"]*\)"}$/\1/p' <<<"$BODY")
    if [ "$STATUS" != 200 ] || [ -z "$TOKEN" ]; then
        [ "$STATUS" = 200 ] && BODY="(not shown: ${#BODY} bytes)"
        fail "$1: expected HTTP 200 with {\"s\":\"ok\",\"d\":\"<token>\"}, got HTTP $STATUS: $BODY"
    fi
    pass "$1"
}

# 1. Start on a fresh data directory with a generated secret.
start_server "$DIR/server-1.log"
SECRET=$(head -n1 "$DIR/broker-secret")
[ -n "$SECRET" ] || fail "server start: $DIR/broker-secret has no secret"
pass "server started, secret generated"

# 2. The source document's example, verbatim but for host and bearer.
STATUS=$(curl -sS --max-time 5 -o "$DIR/response" -w '%{http_code}' \
    -X POST "$URL/generate/token" -H "Authorization: Bearer $SECRET" \
    -H "Content-Type: application/json" \
    -d '{"userId": 14601, "brokerNames": ["BESTBROKER"], "ctidTraderAccountIds": [137780091, 137792301], "isVerified": true}') ||
    fail "mint (document example): curl failed"
TOKEN_A=$(sed -n 's/^{"s":"ok","d":"\([^"]*\)"}$/\1/p' "$DIR/response")
if [ "$STATUS" != 200 ] || [ -z "$TOKEN_A" ]; then
    fail "mint (document example): expected HTTP 200 with a token, got HTTP $STATUS"
fi
pass "mint (document example)"
EXAMPLE='{"userId":14601,"brokerNames":["BESTBROKER"],"ctidTraderAccountIds":[137780091,137792301],"isVerified":true}'

# 3. Callers without the broker secret.
call POST /generate/token "not-the-secret" "$EXAMPLE"
expect "mint with a wrong secret" 401 '"s":"error"'
call POST /generate/token "" "$EXAMPLE"
expect "mint without Authorization" 401 '"s":"error"'

# 4. Bodies that must be refused, each naming what is wrong.
refuse() { # refuse NAME BODY FIELD
    call POST /generate/token "$SECRET" "$2"
    expect "refuse $1" 400 "$3"
}
refuse "a body that is not JSON" '{"userId": 14601,' "not valid JSON"
refuse "a JSON array" '[14601]' "JSON object"
refuse "missing userId" '{"brokerNames":["BESTBROKER"]}' "userId is required"
refuse "userId as a string" '{"userId":"14601","brokerNames":["BESTBROKER"]}' "userId must"
refuse "userId 1.5" '{"userId":1.5,"brokerNames":["BESTBROKER"]}' "userId must"
refuse "userId true" '{"userId":true,"brokerNames":["BESTBROKER"]}' "userId must"
refuse "userId above int64" '{"userId":9223372036854775808,"brokerNames":["BESTBROKER"]}' \
    "userId must"
refuse "missing brokerNames" '{"userId":14601}' "brokerNames is required"
refuse "empty brokerNames" '{"userId":14601,"brokerNames":[]}' "brokerNames must"
refuse "an empty broker name" '{"userId":14601,"brokerNames":[""]}' "brokerNames[0]"
refuse "brokerNames as a string" '{"userId":14601,"brokerNames":"BESTBROKER"}' "brokerNames must"
refuse "ctidTraderAccountIds as a string" \
    '{"userId":14601,"brokerNames":["BESTBROKER"],"ctidTraderAccountIds":"x"}' \
    "ctidTraderAccountIds must"
refuse "a negative account id" \
    '{"userId":14601,"brokerNames":["BESTBROKER"],"ctidTraderAccountIds":[-1]}' \
    "ctidTraderAccountIds[0]"
refuse "isVerified as a string" \
    '{"userId":14601,"brokerNames":["BESTBROKER"],"isVerified":"yes"}' "isVerified must"
refuse "a misspelt field" \
    '{"userId":14601,"brokerNames":["BESTBROKER"],"ctidTraderAccountId":[137780091]}' \
    "Unknown field 'ctidTraderAccountId'"
BIG='{"userId":14601,"brokerNames":["BESTBROKER"],"pad":"'$(printf '%17000s' '')'"}'
call POST /generate/token "$SECRET" "$BIG"
expect "refuse a body over 16 KiB" 413 '"s":"error"'

# 5. Logout: once ok, then refused; a garbage token is refused with HTTP 200.
call POST /logout "$TOKEN_A" ""
expect "logout" 200 '{"s":"ok"}'
call POST /logout "$TOKEN_A" ""
expect "logout again" 200 '"s":"error"'
call POST /logout "garbage" ""
expect "logout with a garbage token" 200 '"s":"error"'

# 6. kill -9 and restart on the same data directory: revoked stays revoked, B still logs out.
mint "mint token B"
TOKEN_B=$TOKEN
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
PID=""
pass "server killed with SIGKILL"
OLD_URL=$URL
start_server "$DIR/server-2.log"
pass "server restarted on the same data directory ($OLD_URL -> $URL)"
call POST /logout "$TOKEN_A" ""
expect "logout after restart: first token still revoked" 200 '"s":"error"'
call POST /logout "$TOKEN_B" ""
expect "logout after restart: token B" 200 '{"s":"ok"}'
mint "mint after restart with the kept secret"

echo "PASS  curl walkthrough complete"
