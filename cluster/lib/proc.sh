# cluster/lib/proc.sh — starts the cluster's daemons in the background and records each one's
# pid (plus its kernel start time, so a recycled pid is never mistaken for ours) under $KC_PIDS;
# stops them again by those recorded pids only. Sourced by up.sh, down.sh and status.sh.
# shellcheck shell=bash

_kc_starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }

# kc_running NAME — true if the process recorded for NAME is alive and is the one we started.
kc_running() {
  local f="$KC_PIDS/$1.pid" pid st _
  [ -f "$f" ] || return 1
  read -r pid st _ < "$f" || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(_kc_starttime "$pid")" = "$st" ] || return 1
  # a zombie is not running
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]
}

kc_pid() { local pid _; read -r pid _ < "$KC_PIDS/$1.pid"; echo "$pid"; }

# kc_started_iso NAME — when NAME was started (UTC, RFC 3339, second precision; epoch 0 if unknown)
kc_started_iso() {
  local _p _s t=""
  [ -f "$KC_PIDS/$1.pid" ] && read -r _p _s t < "$KC_PIDS/$1.pid"
  date -u -d "@${t:-0}" +%Y-%m-%dT%H:%M:%SZ
}

# kc_start NAME CMD... — start CMD detached (own session, stdin /dev/null, output to its log).
kc_start() {
  local name="$1"; shift
  if kc_running "$name"; then return 0; fi
  mkdir -p "$KC_PIDS" "$KC_LOGS"
  [ -f "$KC_LOGS/$name.log" ] && mv -f "$KC_LOGS/$name.log" "$KC_LOGS/$name.log.prev"
  # double fork: the daemon is orphaned at once, so init (not this script) reaps it when it exits
  local pid st=""
  pid="$( (setsid "$@" </dev/null >"$KC_LOGS/$name.log" 2>&1 9>&- & echo $!) )"
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do st="$(_kc_starttime "$pid")"; [ -n "$st" ] && break; sleep 0.05; done
  echo "$pid $st $(date -u +%s)" > "$KC_PIDS/$name.pid"
  kc_log "started $name (pid $pid, log $KC_LOGS/$name.log)"
}

# kc_stop NAME [TIMEOUT] — SIGTERM the recorded pid, SIGKILL after TIMEOUT seconds.
kc_stop() {
  local name="$1" t="${2:-15}" pid i _
  if ! kc_running "$name"; then rm -f "$KC_PIDS/$name.pid"; return 0; fi
  pid="$(kc_pid "$name")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < t * 10; i++)); do kc_running "$name" || break; sleep 0.1; done
  if kc_running "$name"; then
    kc_log "$name (pid $pid) did not stop in ${t}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kc_running "$name" || break; sleep 0.1; done
  fi
  # our daemons are orphans, so init reaps them; wait (bounded) until the zombie is gone too
  local st
  read -r _ st _ < "$KC_PIDS/$name.pid"
  for ((i = 0; i < 50; i++)); do [ "$(_kc_starttime "$pid")" = "$st" ] || break; sleep 0.1; done
  kc_log "stopped $name (pid $pid)"
  rm -f "$KC_PIDS/$name.pid"
}
