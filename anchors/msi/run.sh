#!/usr/bin/env bash
# Regenerate and run the German-protocol anchor with rumur.
#
# Assumes `rumur` (Debian package `rumur`, measured with v2022.08.20-1) and a C
# compiler `cc` (gcc) are installed; nothing here installs them.
#   apt-get update && apt-get install -y rumur
#
# Usage: ./run.sh [max_nodes]      (default 4; 4 nodes without symmetry
#                                   reduction checks for ~5 s, the whole
#                                   script takes ~40 s on 2 cores)
# Environment: CFLAGS overrides the C flags (default below: rumur's README
# recommends -O3, and -mcx16 for gcc on x86-64; -O2 made the 4-node
# symmetry-off verifier about 2.5x slower here).
#
# Output: one line per correct-model run
#   nodes=N symmetry=on|off states=S seconds=T
# where seconds is the wall time of the compiled verifier only (not rumur's
# code generation or the C compile). symmetry=on is rumur's default
# (heuristic) symmetry reduction over the NODE and DATA scalarsets.
# Then one line per mutant: which property rumur reports and how many rule
# firings (after the start state) its counterexample has. Mutants are run
# with symmetry off and one thread, so the BFS trace is a shortest one.
# Exit status is non-zero if the correct model fails or a mutant is missed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
model="$here/german.m"
max_nodes="${1:-4}"
CFLAGS="${CFLAGS:--std=c11 -O3 -march=native -mcx16 -pthread}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

command -v rumur >/dev/null || { echo "rumur not found (apt-get install -y rumur)" >&2; exit 2; }
command -v cc >/dev/null || { echo "cc not found" >&2; exit 2; }

# build NAME NODES MUTANT [rumur options...] -> $work/NAME (verifier binary)
build() {
  local name="$1" nodes="$2" mutant="$3"; shift 3
  sed -e "s/^  NODE_NUM : [0-9]*;/  NODE_NUM : $nodes;/" \
      -e "s/^  MUTANT   : [0-9]*;/  MUTANT   : $mutant;/" \
      "$model" > "$work/$name.m"
  rumur --quiet "$@" --output "$work/$name.c" "$work/$name.m"
  # shellcheck disable=SC2086
  cc $CFLAGS "$work/$name.c" -o "$work/$name"
}

status=0
echo "# rumur: $(rumur --version 2>&1 | head -n1); cc: $(cc --version | head -n1)"

for nodes in $(seq 2 "$max_nodes"); do
  for sym in on off; do
    if [ "$sym" = on ]; then opt=heuristic; else opt=off; fi
    build "n${nodes}_$sym" "$nodes" 0 --symmetry-reduction "$opt"
    t0=$(date +%s.%N)
    if ! "$work/n${nodes}_$sym" > "$work/n${nodes}_$sym.out" 2>&1; then
      echo "nodes=$nodes symmetry=$sym FAILED (see below)"; cat "$work/n${nodes}_$sym.out"; status=1
    fi
    t1=$(date +%s.%N)
    states=$(sed -n 's/^[[:space:]]*\([0-9]*\) states,.*/\1/p' "$work/n${nodes}_$sym.out")
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    echo "nodes=$nodes symmetry=$sym states=$states seconds=$secs"
  done
done

# Mutants (see the MUTANT comment in german.m). Expected property per mutant:
#   1: deadlock   2: CtrlProp   3: DataProp   4: CtrlProp
expect=( "" "deadlock" 'invariant "CtrlProp" failed' 'invariant "DataProp" failed' 'invariant "CtrlProp" failed' )
for m in 1 2 3 4; do
  for nodes in 2 3; do
    build "m${m}_n$nodes" "$nodes" "$m" --symmetry-reduction off --threads 1
    out="$work/m${m}_n$nodes.out"
    "$work/m${m}_n$nodes" > "$out" 2>&1 || true
    err=$(sed -n '/error trace for the error:/{n;n;p;q}' "$out" | sed 's/^[[:space:]]*//')
    rules=$(grep -c '^Rule .* fired' "$out" || true)
    if [ "$err" = "${expect[$m]}" ]; then verdict=caught; else verdict="MISSED (expected ${expect[$m]})"; status=1; fi
    echo "mutant=$m nodes=$nodes error=[${err:-none}] trace_rules=$rules $verdict"
  done
done

# Mutant 1 again with deadlock detection off: it must then pass, i.e. it is
# caught only as a deadlock, never as a CtrlProp/DataProp violation.
build m1_nodl 3 1 --symmetry-reduction off --deadlock-detection off
if "$work/m1_nodl" > "$work/m1_nodl.out" 2>&1; then
  echo "mutant=1 nodes=3 deadlock-detection=off: no invariant violated ($(sed -n 's/^[[:space:]]*\([0-9]*\) states,.*/\1/p' "$work/m1_nodl.out") states)"
else
  echo "mutant=1 nodes=3 deadlock-detection=off: UNEXPECTED error"; status=1
fi

exit "$status"
