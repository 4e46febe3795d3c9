#!/usr/bin/env bash
# Porcupine v1.3.0 against `check bench lin` on the histories Porcupine ships
# (linearizability/testdata/porcupine/test_data: 103 etcd Jepsen logs, 6 kv
# logs). See README.md in this directory.
#
# Prerequisites (nothing here installs them):
#   Go >= 1.16 (measured with Debian's golang-1.19-go:
#     apt-get install -y golang-1.19-go  -> /usr/lib/go-1.19/bin/go)
#   the `check` binary (target/release/check of this workspace; not rebuilt here)
#   git, if run.sh has to clone Porcupine itself
#
# Usage: ./run.sh [options]
#   --porcupine DIR  Porcupine v1.3.0 source: a checkout (work tree), or a bare
#                    git mirror that has the tag v1.3.0 (env PORCUPINE_SRC).
#                    Default: git clone --depth 1 --branch v1.3.0
#                    https://github.com/anishathalye/porcupine into a temp dir
#                    (the only network access of this script).
#   --rounds N       rounds; each runs Porcupine (A) then check (B) on every
#                    set: A B A B ... (default 5)
#   --runs N         checks per file per round for the etcd and kv sets; each
#                    tool reports the median of these (default 3)
#   --np-runs N      the same for the unpartitioned kv set (default 1; Porcupine
#                    takes seconds per file there)
#   --sets "..."     which of: etcd kv kv-np (default all three)
#   --idle-wait S    before each timed step wait up to S seconds for the CPUs
#                    to be >= IDLE_PCT% idle (default 0: do not wait)
# Environment: CHECK (path to check), GO (go binary), IDLE_PCT (default 90),
#   KEEP_LOG=FILE (also keep the raw per-round, per-file timings in FILE).
#
# Output: per round, one line per tool and set; then a table of medians over
# rounds (and min-max), with the ratio Porcupine / check. Times are the
# search only: the history is parsed before the clock starts, for both tools.
# Exit status: 0 if all verdicts agree with MANIFEST.md, 1 if any disagrees,
# 2 on a missing prerequisite or a usage error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="$root/linearizability/testdata/porcupine/test_data"
manifest="$root/linearizability/testdata/MANIFEST.md"
porcupine_tag=v1.3.0
porcupine_commit=55508eb201b314c218d7e8412c3ea4b9499a5f53

src="${PORCUPINE_SRC:-}"
rounds=5 runs=3 np_runs=1 sets="etcd kv kv-np" idle_wait=0
IDLE_PCT="${IDLE_PCT:-90}"
die() { echo "run.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --porcupine) src="${2:?}"; shift 2 ;;
    --rounds) rounds="${2:?}"; shift 2 ;;
    --runs) runs="${2:?}"; shift 2 ;;
    --np-runs) np_runs="${2:?}"; shift 2 ;;
    --sets) sets="${2:?}"; shift 2 ;;
    --idle-wait) idle_wait="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
for n in "$rounds" "$runs" "$np_runs" "$idle_wait"; do
  case "$n" in ''|*[!0-9]*) die "not a number: $n" ;; esac
done
[ "$rounds" -ge 1 ] && [ "$runs" -ge 1 ] && [ "$np_runs" -ge 1 ] || die "rounds and runs must be >= 1"
for s in $sets; do case "$s" in etcd|kv|kv-np) ;; *) die "unknown set: $s" ;; esac; done

CHECK="${CHECK:-$root/target/release/check}"
[ -x "$CHECK" ] || die "check binary not found at $CHECK (build the workspace: cargo build --release, or set CHECK)"
if [ -z "${GO:-}" ]; then
  if [ -x /usr/lib/go-1.19/bin/go ]; then GO=/usr/lib/go-1.19/bin/go
  elif command -v go >/dev/null; then GO="$(command -v go)"
  else die "go not found (apt-get install -y golang-1.19-go, or set GO)"; fi
fi
[ -d "$data/jepsen" ] && [ -d "$data/kv" ] && [ -f "$manifest" ] || die "test data not found under $data"
command -v awk >/dev/null && command -v sort >/dev/null || die "awk and sort are needed"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------- Porcupine source
if [ -z "$src" ]; then
  command -v git >/dev/null || die "git not found (needed to clone Porcupine; or pass --porcupine DIR)"
  echo "# cloning Porcupine $porcupine_tag from github.com (no --porcupine/PORCUPINE_SRC given)" >&2
  git clone --quiet --depth 1 --branch "$porcupine_tag" https://github.com/anishathalye/porcupine "$work/porcupine-src" \
    || die "git clone failed; pass a local checkout with --porcupine DIR"
  src="$work/porcupine-src"
fi
[ -d "$src" ] || die "Porcupine source $src is not a directory"
src="$(cd "$src" && pwd)"
if [ -f "$src/porcupine.go" ]; then
  pdir="$src"
  have=unknown
  if [ -e "$src/.git" ]; then have="$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)"; fi
elif git --git-dir="$src" rev-parse --verify --quiet "$porcupine_tag^{commit}" >/dev/null 2>&1; then
  # a bare mirror: export the tag's tree
  mkdir -p "$work/porcupine-src"
  git --git-dir="$src" archive "$porcupine_tag" | tar -x -C "$work/porcupine-src"
  pdir="$work/porcupine-src"
  have="$(git --git-dir="$src" rev-parse "$porcupine_tag^{commit}")"
else
  die "$src is neither a Porcupine checkout nor a git mirror with tag $porcupine_tag"
fi
if [ "$have" != "$porcupine_commit" ]; then
  echo "# WARNING: Porcupine source is at $have, not $porcupine_tag ($porcupine_commit)" >&2
fi

# ---------------------------------------------------------------- build
mkdir -p "$work/build"
cp "$here/main.go" "$here/go.mod" "$work/build/"
ln -s "$pdir" "$work/build/porcupine"
( cd "$work/build" && GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local GOCACHE="$work/gocache" \
    GOPATH="$work/gopath" "$GO" build -o "$work/porcupine-bench" . ) \
  || die "building the Porcupine harness failed"
pbench="$work/porcupine-bench"

# ---------------------------------------------------------------- sets
# Each set: a directory that `check bench lin` reads, the files in it, the
# model, and whether it is checked unpartitioned.
mkdir -p "$work/sets/kv-np"
for f in c01-ok c01-bad c10-ok c10-bad; do ln -s "$data/kv/$f.txt" "$work/sets/kv-np/$f.txt"; done
set_dir() { case "$1" in etcd) echo "$data/jepsen" ;; kv) echo "$data/kv" ;; kv-np) echo "$work/sets/kv-np" ;; esac; }
set_model() { case "$1" in etcd) echo etcd ;; *) echo kv ;; esac; }
set_runs() { case "$1" in kv-np) echo "$np_runs" ;; *) echo "$runs" ;; esac; }
set_np() { case "$1" in kv-np) echo --no-partition ;; *) echo "" ;; esac; }
set_glob() { case "$1" in etcd) echo '*.log' ;; *) echo '*.txt' ;; esac; }

# Expected verdicts from the MANIFEST tables: "FILE<TAB>linearizable|not linearizable"
awk -F'|' '/^\| (jepsen|kv)\// {
    f = $2; gsub(/^ +| +$/, "", f); sub(/.*\//, "", f)
    v = $5; if (v ~ /NOT linearizable/) v = "not linearizable"; else if (v ~ /linearizable/) v = "linearizable"; else next
    print f "\t" v }' "$manifest" > "$work/expected.tsv"
[ "$(wc -l < "$work/expected.tsv")" -ge 109 ] || die "could not read the expected verdicts from $manifest"

idle_pct() {  # CPU idle percentage over the next second
  local a b
  a=$(awk '/^cpu /{print $5+$6, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat); sleep 1
  b=$(awk '/^cpu /{print $5+$6, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
  echo "$a $b" | awk '{ d = $4 - $2; if (d <= 0) print 0; else printf "%d\n", 100 * ($3 - $1) / d }'
}
wait_idle() {
  [ "$idle_wait" -gt 0 ] || return 0
  local t0=$SECONDS
  while [ $((SECONDS - t0)) -lt "$idle_wait" ]; do
    [ "$(idle_pct)" -ge "$IDLE_PCT" ] && return 0
  done
  echo "# note: CPUs not ${IDLE_PCT}% idle after ${idle_wait}s; going ahead" >&2
}

# Raw results: ROUND TOOL SET FILE VERDICT CHECK_MS (tab-separated)
raw="$work/raw.tsv"; : > "$raw"

run_porcupine() {  # round set
  local r="$1" s="$2" dir files
  dir="$(set_dir "$s")"
  # shellcheck disable=SC2046
  files=$(cd "$dir" && ls -1 $(set_glob "$s") | sort)
  # shellcheck disable=SC2086,SC2046
  (cd "$dir" && "$pbench" -model "$(set_model "$s")" $(set_np "$s") -runs "$(set_runs "$s")" $files) > "$work/p.out" \
    || die "porcupine-bench failed on set $s"
  awk -F'\t' -v r="$r" -v s="$s" '$1 != "total" { print r "\tporcupine\t" s "\t" $1 "\t" $3 "\t" $5 }' "$work/p.out" >> "$raw"
}

run_check() {  # round set
  local r="$1" s="$2"
  # shellcheck disable=SC2046
  "$CHECK" bench lin --format json --model "$(set_model "$s")" $(set_np "$s") --runs "$(set_runs "$s")" "$(set_dir "$s")" \
    > "$work/c.json" || die "check bench lin failed on set $s"
  # The report is pretty-printed JSON (schema check-bench-lin/1): one field per line.
  awk -v r="$r" -v s="$s" '
    function str(line) { sub(/^[^:]*: *"/, "", line); sub(/",? *$/, "", line); return line }
    /"file":/ { f = str($0) }
    /"verdict":/ { v = str($0) }
    /"check_seconds":/ { x = $0; sub(/^[^:]*: */, "", x); sub(/,? *$/, "", x)
                         printf "%s\tcheck\t%s\t%s\t%s\t%.3f\n", r, s, f, v, x * 1000 }' "$work/c.json" >> "$raw"
}

nfiles() { local d; d="$(set_dir "$1")"; # shellcheck disable=SC2046
  (cd "$d" && ls -1 $(set_glob "$1") | wc -l); }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
echo "# Porcupine $porcupine_tag ($have), $("$GO" version), check: $CHECK"
echo "# rounds=$rounds runs=$runs np_runs=$np_runs sets=[$sets]; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for s in $sets; do
    wait_idle; run_porcupine "$r" "$s"
    wait_idle; run_check "$r" "$s"
    for tool in porcupine check; do
      awk -F'\t' -v r="$r" -v t="$tool" -v s="$s" '$1 == r && $2 == t && $3 == s { n++; ms += $6 }
        END { printf "round %s  %-9s %-6s %3d files  search %10.1f ms\n", r, t, s, n, ms }' "$raw"
    done
  done
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "${KEEP_LOG:-}" ] && cp "$raw" "$KEEP_LOG"

# ---------------------------------------------------------------- verdicts
status=0
for s in $sets; do
  for tool in porcupine check; do
    got=$(awk -F'\t' -v t="$tool" -v s="$s" '$2 == t && $3 == s' "$raw" | wc -l)
    want=$(( rounds * $(nfiles "$s") ))
    if [ "$got" -ne "$want" ]; then echo "MISSING: $tool $s: $got results, expected $want"; status=1; fi
  done
done
bad=$(awk -F'\t' 'NR == FNR { e[$1] = $2; next }
  !($4 in e) { print "  no expected verdict for " $4 " (" $2 ")"; next }
  $5 != e[$4] { print "  " $2 " round " $1 ": " $4 " is " $5 ", MANIFEST says " e[$4] }' "$work/expected.tsv" "$raw")
if [ -n "$bad" ]; then echo "VERDICT DISAGREEMENTS:"; echo "$bad"; status=1
else echo "# verdicts: every file, every round, both tools agree with MANIFEST.md"; fi

# ---------------------------------------------------------------- summary
# stats ROWS: median and min-max of the numbers on stdin
stats() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
  m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
  printf "%.1f %.1f %.1f\n", m, a[1], a[NR] }'; }
# series TOOL SET FILE|total -> one number per round (ms)
series() { awk -F'\t' -v t="$1" -v s="$2" -v f="$3" '$2 == t && $3 == s && (f == "total" || $4 == f) { ms[$1] += $6 }
  END { for (r in ms) print ms[r] }' "$raw"; }
row() {  # label set file
  local p c
  p=$(series porcupine "$2" "$3" | stats); c=$(series check "$2" "$3" | stats)
  echo "$p $c" | awk -v l="$1" '{ ratio = ($4 > 0) ? sprintf("%.1fx", $1 / $4) : "n/a"
    c = sprintf("%.1f (%.1f-%.1f)", $4, $5, $6); p = sprintf("%.1f (%.1f-%.1f)", $1, $2, $3)
    printf "| %-34s | %24s | %24s | %10s |\n", l, c, p, ratio }'
}
echo
echo "Search time in ms, median over $rounds rounds (min-max); each round's per-file figure is"
echo "that tool's median of $runs runs ($np_runs for kv-np); a set's figure is the sum over its files."
echo
printf "| %-34s | %24s | %24s | %10s |\n" histories "check bench lin" "Porcupine $porcupine_tag" "Porc/check"
echo "|------------------------------------|-------------------------:|-------------------------:|-----------:|"
for s in $sets; do
  case "$s" in
    etcd)
      row "all 103 etcd logs" etcd total
      row "etcd_002" etcd etcd_002.log
      row "etcd_007" etcd etcd_007.log
      row "etcd_099" etcd etcd_099.log ;;
    kv)
      row "kv, all 6 (partitioned by key)" kv total
      row "kv c50-ok (partitioned)" kv c50-ok.txt
      row "kv c50-bad (partitioned)" kv c50-bad.txt ;;
    kv-np)
      row "kv c01+c10 unpartitioned (4 files)" kv-np total
      row "kv c10-ok unpartitioned" kv-np c10-ok.txt
      row "kv c10-bad unpartitioned" kv-np c10-bad.txt ;;
  esac
done
exit "$status"
