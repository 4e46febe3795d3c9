// Command porcupine-bench times Porcupine (github.com/anishathalye/porcupine,
// v1.3.0) on the etcd Jepsen logs and the kv logs that Porcupine ships in its
// test_data directory, for the outside anchor in this directory (see
// README.md and run.sh).
//
// The histories are read the way Porcupine's own tests read them, and checked
// against sequential specifications with the same meaning as the ones in
// Porcupine's porcupine_test.go (etcd register; kv with one string register
// per key, partitioned by key; kv as one map, unpartitioned). This file was
// written for this project; it is not a copy of Porcupine's test code.
//
// Usage:
//
//	porcupine-bench -model etcd|kv [-no-partition] [-runs N] FILE...
//
// Each file is parsed once and then checked with porcupine.CheckEvents N times.
// Before each timed check the Go garbage collector is run (untimed), so that a
// run does not pay for the previous run's garbage. Output, one line per file,
// tab-separated:
//
//	FILE  OPS  VERDICT  PARSE_MS  CHECK_MS
//
// where VERDICT is "linearizable" or "not linearizable", PARSE_MS is the time
// to read and parse the file (once) and CHECK_MS is the median of the N check
// times. A last line "total<TAB>FILES<TAB>-<TAB>PARSE_MS<TAB>CHECK_MS" sums the
// columns. Exit status 2 on a usage or input error.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// ---------------------------------------------------------------- etcd --

// Operation kinds of the etcd register.
const (
	etcdRead  = 0
	etcdWrite = 1
	etcdCas   = 2
)

// absent is the register's value while the key does not exist (Porcupine's
// test encodes "absent" as an int sentinel too; the logs only hold small
// non-negative values).
const absent = -1000000

type etcdCall struct {
	kind     uint8
	from, to int // write: value in from; cas: [from to]
}

type etcdRet struct {
	casOK   bool // cas: :ok (true) or :fail (false)
	present bool // read: a value was returned (not nil)
	value   int  // read: that value
	unknown bool // the outcome was not observed (timed out / never returned)
}

func etcdStep(state, input, output interface{}) (bool, interface{}) {
	cur := state.(int)
	in := input.(etcdCall)
	out := output.(etcdRet)
	switch in.kind {
	case etcdRead:
		if out.unknown {
			return true, cur
		}
		if out.present {
			return cur == out.value, cur
		}
		return cur == absent, cur
	case etcdWrite:
		return true, in.from
	default: // cas
		next := cur
		if cur == in.from {
			next = in.to
		}
		if out.unknown {
			return true, next
		}
		return out.casOK == (cur == in.from), next
	}
}

// The model in Porcupine's test has no partition and no hash function, and
// compares states with ==; so does this one.
var etcdModel = porcupine.Model{
	Init: func() interface{} { return absent },
	Step: etcdStep,
}

// history accumulates call/return events, pairing each return with the open
// call of the same process, as Porcupine's test parsers do.
type history struct {
	events []porcupine.Event
	open   map[int]int // process -> id of its open call
	nextID int
	calls  int
}

func newHistory() *history { return &history{open: map[int]int{}} }

func (h *history) call(proc int, v interface{}) error {
	if _, busy := h.open[proc]; busy {
		return fmt.Errorf("process %d invokes while its previous call is open", proc)
	}
	h.events = append(h.events, porcupine.Event{ClientId: proc, Kind: porcupine.CallEvent, Value: v, Id: h.nextID})
	h.open[proc] = h.nextID
	h.nextID++
	h.calls++
	return nil
}

func (h *history) ret(proc int, v interface{}) error {
	id, ok := h.open[proc]
	if !ok {
		return fmt.Errorf("process %d returns without an open call", proc)
	}
	delete(h.open, proc)
	h.events = append(h.events, porcupine.Event{ClientId: proc, Kind: porcupine.ReturnEvent, Value: v, Id: id})
	return nil
}

// closeOpen gives every call still open an unobserved return after the last
// event, in process order (the order of these trailing returns does not
// matter to the check).
func (h *history) closeOpen(v interface{}) {
	procs := make([]int, 0, len(h.open))
	for p := range h.open {
		procs = append(procs, p)
	}
	sort.Ints(procs)
	for _, p := range procs {
		h.events = append(h.events, porcupine.Event{ClientId: p, Kind: porcupine.ReturnEvent, Value: v, Id: h.open[p]})
	}
	h.open = map[int]int{}
}

// natural parses a non-negative decimal integer (digits only).
func natural(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// parseEtcd reads a Jepsen etcd log. Lines look like
//
//	INFO  jepsen.util - 3	:invoke	:cas	[1 4]
//
// with tabs or runs of spaces between fields. Recognised (everything else is
// skipped, as in Porcupine's test):
//
//	:invoke :read nil | :invoke :write N | :invoke :cas [A B]
//	:ok :read nil|N   | :ok :write N     | :ok|:fail :cas [A B]
//	:fail :read :timed-out (a return whose result is unknown)
//
// So ":info" lines (timed-out writes and cas) leave the call open; after the
// last line every open call gets a return with an unknown result.
func parseEtcd(path string) (*history, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := newHistory()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		w := strings.Fields(sc.Text())
		if len(w) < 7 || w[0] != "INFO" || w[1] != "jepsen.util" || w[2] != "-" {
			continue
		}
		proc, ok := natural(w[3])
		if !ok {
			continue
		}
		typ, fn, val := w[4], w[5], w[6:]
		one := func() (int, bool) { // a single natural-number value
			if len(val) != 1 {
				return 0, false
			}
			return natural(val[0])
		}
		pair := func() (int, int, bool) { // "[A B]"
			if len(val) != 2 || !strings.HasPrefix(val[0], "[") || !strings.HasSuffix(val[1], "]") {
				return 0, 0, false
			}
			a, okA := natural(strings.TrimPrefix(val[0], "["))
			b, okB := natural(strings.TrimSuffix(val[1], "]"))
			return a, b, okA && okB
		}
		isNil := len(val) == 1 && val[0] == "nil"
		var perr error
		switch {
		case typ == ":invoke" && fn == ":read" && isNil:
			perr = h.call(proc, etcdCall{kind: etcdRead})
		case typ == ":invoke" && fn == ":write":
			if v, ok := one(); ok {
				perr = h.call(proc, etcdCall{kind: etcdWrite, from: v})
			}
		case typ == ":invoke" && fn == ":cas":
			if a, b, ok := pair(); ok {
				perr = h.call(proc, etcdCall{kind: etcdCas, from: a, to: b})
			}
		case typ == ":ok" && fn == ":read":
			if isNil {
				perr = h.ret(proc, etcdRet{})
			} else if v, ok := one(); ok {
				perr = h.ret(proc, etcdRet{present: true, value: v})
			}
		case typ == ":ok" && fn == ":write":
			if _, ok := one(); ok {
				perr = h.ret(proc, etcdRet{})
			}
		case (typ == ":ok" || typ == ":fail") && fn == ":cas":
			if _, _, ok := pair(); ok {
				perr = h.ret(proc, etcdRet{casOK: typ == ":ok"})
			}
		case typ == ":fail" && fn == ":read" && len(val) == 1 && val[0] == ":timed-out":
			perr = h.ret(proc, etcdRet{unknown: true})
		}
		if perr != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, lineNo, perr)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	h.closeOpen(etcdRet{unknown: true})
	return h, nil
}

// ------------------------------------------------------------------ kv --

const (
	kvGet    = 0
	kvPut    = 1
	kvAppend = 2
)

type kvCall struct {
	kind  uint8
	key   string
	value string
}

type kvRet struct {
	value string // get: the value returned
}

func fnv64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return h.Sum64()
}

// kvModel: the state is one key's string (histories are split by key);
// hashed with FNV-1a, as in Porcupine's test.
var kvModel = porcupine.Model{
	PartitionEvent: func(events []porcupine.Event) [][]porcupine.Event {
		keyOf := map[int]string{}
		byKey := map[string][]porcupine.Event{}
		var order []string
		for _, e := range events {
			var k string
			if e.Kind == porcupine.CallEvent {
				k = e.Value.(kvCall).key
				keyOf[e.Id] = k
			} else {
				k = keyOf[e.Id]
			}
			if _, seen := byKey[k]; !seen {
				order = append(order, k)
			}
			byKey[k] = append(byKey[k], e)
		}
		parts := make([][]porcupine.Event, 0, len(order))
		for _, k := range order {
			parts = append(parts, byKey[k])
		}
		return parts
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		cur := state.(string)
		in := input.(kvCall)
		switch in.kind {
		case kvGet:
			return output.(kvRet).value == cur, cur
		case kvPut:
			return true, in.value
		default:
			return true, cur + in.value
		}
	},
	Hash: func(state interface{}) uint64 { return fnv64(state.(string)) },
}

// kvWholeModel: the state is a map from key to string, no partitioning;
// equality compares the maps, the hash XORs a hash of each (key, value) pair,
// as in Porcupine's test.
var kvWholeModel = porcupine.Model{
	Init: func() interface{} { return map[string]string{} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		cur := state.(map[string]string)
		in := input.(kvCall)
		if in.kind == kvGet {
			return output.(kvRet).value == cur[in.key], cur
		}
		next := make(map[string]string, len(cur)+1)
		for k, v := range cur {
			next[k] = v
		}
		if in.kind == kvPut {
			next[in.key] = in.value
		} else {
			next[in.key] = cur[in.key] + in.value
		}
		return true, next
	},
	Equal: func(a, b interface{}) bool {
		x, y := a.(map[string]string), b.(map[string]string)
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || w != v {
				return false
			}
		}
		return true
	},
	Hash: func(state interface{}) uint64 {
		var h uint64
		for k, v := range state.(map[string]string) {
			h ^= fnv64(k, v)
		}
		return h
	},
}

// ednField is one ":name value" pair of a flat EDN map. str is set for a
// string value, raw holds the value's text otherwise (nil, a keyword, a number).
type ednField struct {
	isStr bool
	str   string
	raw   string
}

// parseFlatMap parses a one-line EDN map whose values are strings, keywords,
// numbers or nil: {:process 6, :type :invoke, :f :get, :key "0", :value nil}
func parseFlatMap(line string) (map[string]ednField, error) {
	s := strings.TrimSpace(line)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, errors.New("not a map")
	}
	s = s[1 : len(s)-1]
	out := map[string]ednField{}
	i := 0
	skip := func() { // whitespace and commas
		for i < len(s) && (s[i] == ' ' || s[i] == ',' || s[i] == '\t') {
			i++
		}
	}
	for {
		skip()
		if i >= len(s) {
			return out, nil
		}
		if s[i] != ':' {
			return nil, fmt.Errorf("expected a keyword at %q", s[i:])
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != ',' {
			j++
		}
		name := s[i+1 : j]
		i = j
		skip()
		if i >= len(s) {
			return nil, fmt.Errorf("no value for :%s", name)
		}
		if s[i] == '"' {
			var b strings.Builder
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			if i >= len(s) {
				return nil, errors.New("unterminated string")
			}
			i++
			out[name] = ednField{isStr: true, str: b.String()}
		} else {
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != ',' {
				j++
			}
			out[name] = ednField{raw: s[i:j]}
			i = j
		}
	}
}

// parseKv reads a kv log: one EDN map per line with :process, :type
// (:invoke or :ok), :f (:get, :put or :append), :key and :value. Calls carry
// the key (and the value for put/append); returns carry the value for get.
// Calls still open at the end get an empty return, as in Porcupine's test.
func parseKv(path string) (*history, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := newHistory()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		m, err := parseFlatMap(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, lineNo, err)
		}
		proc, ok := natural(m["process"].raw)
		if !ok {
			return nil, fmt.Errorf("%s:%d: bad :process", path, lineNo)
		}
		var kind uint8
		switch m["f"].raw {
		case ":get":
			kind = kvGet
		case ":put":
			kind = kvPut
		case ":append":
			kind = kvAppend
		default:
			return nil, fmt.Errorf("%s:%d: unknown :f %q", path, lineNo, m["f"].raw)
		}
		key, val := m["key"], m["value"]
		if !key.isStr {
			return nil, fmt.Errorf("%s:%d: :key is not a string", path, lineNo)
		}
		var perr error
		switch m["type"].raw {
		case ":invoke":
			if kind != kvGet && !val.isStr {
				return nil, fmt.Errorf("%s:%d: put/append without a string :value", path, lineNo)
			}
			perr = h.call(proc, kvCall{kind: kind, key: key.str, value: val.str})
		case ":ok":
			if kind == kvGet && !val.isStr {
				return nil, fmt.Errorf("%s:%d: get returned no string", path, lineNo)
			}
			perr = h.ret(proc, kvRet{value: val.str})
		default:
			return nil, fmt.Errorf("%s:%d: unexpected :type %q", path, lineNo, m["type"].raw)
		}
		if perr != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, lineNo, perr)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	h.closeOpen(kvRet{})
	return h, nil
}

// ---------------------------------------------------------------- main --

func median(xs []time.Duration) time.Duration {
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func main() {
	modelName := flag.String("model", "", "etcd or kv")
	noPartition := flag.Bool("no-partition", false, "kv only: check the whole history against one map-valued state")
	runs := flag.Int("runs", 5, "check each file this many times and report the median")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s -model etcd|kv [-no-partition] [-runs N] FILE...\n", filepath.Base(os.Args[0]))
		flag.PrintDefaults()
	}
	flag.Parse()
	if *runs < 1 || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var parse func(string) (*history, error)
	var model porcupine.Model
	switch {
	case *modelName == "etcd" && !*noPartition:
		parse, model = parseEtcd, etcdModel
	case *modelName == "kv" && !*noPartition:
		parse, model = parseKv, kvModel
	case *modelName == "kv" && *noPartition:
		parse, model = parseKv, kvWholeModel
	default:
		flag.Usage()
		os.Exit(2)
	}

	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	var totalParse, totalCheck time.Duration
	for _, path := range flag.Args() {
		t0 := time.Now()
		h, err := parse(path)
		parseTime := time.Since(t0)
		if err != nil {
			w.Flush()
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(2)
		}
		times := make([]time.Duration, 0, *runs)
		verdict := false
		for r := 0; r < *runs; r++ {
			runtime.GC()
			t := time.Now()
			ok := porcupine.CheckEvents(model, h.events)
			times = append(times, time.Since(t))
			if r > 0 && ok != verdict {
				w.Flush()
				fmt.Fprintf(os.Stderr, "error: %s: verdict changed between runs\n", path)
				os.Exit(2)
			}
			verdict = ok
		}
		v := "not linearizable"
		if verdict {
			v = "linearizable"
		}
		m := median(times)
		totalParse += parseTime
		totalCheck += m
		fmt.Fprintf(w, "%s\t%d\t%s\t%.3f\t%.3f\n", filepath.Base(path), h.calls, v, ms(parseTime), ms(m))
	}
	fmt.Fprintf(w, "total\t%d\t-\t%.3f\t%.3f\n", flag.NArg(), ms(totalParse), ms(totalCheck))
}
