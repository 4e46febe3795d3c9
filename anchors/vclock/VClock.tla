------------------------------- MODULE VClock -------------------------------
(***************************************************************************)
(* Vector clocks against happens-before, the same state space as          *)
(* `check vclock` (models/src/vclock): N processes of at most E events     *)
(* each (a local event, a send to another process, or a receive of a      *)
(* message in flight to it); the network delivers each message once, in   *)
(* any order. hist records, per event, its kind, its stamp, its true      *)
(* causal past (itself included) and the processes it had received from   *)
(* directly: ghost state that the invariants judge the clocks against.     *)
(* Written for this project.                                               *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets

CONSTANTS N, E

Procs == 1..N

VARIABLES clock, hist, net

vars == <<clock, hist, net>>

Zero == [q \in Procs |-> 0]

Inc(c, p) == [c EXCEPT ![p] = @ + 1]

Merge(a, b) == [q \in Procs |-> IF a[q] >= b[q] THEN a[q] ELSE b[q]]

Last(p) == hist[p][Len(hist[p])]

Past(p) == IF hist[p] = << >> THEN {} ELSE Last(p).past

Heard(p) == IF hist[p] = << >> THEN {} ELSE Last(p).heard

Room(p) == Len(hist[p]) < E

\* The event numbered Len(hist[p]) + 1 of process p, stamped c.
Record(p, kind, c, past, heard) ==
    hist' = [hist EXCEPT ![p] = Append(@, [kind |-> kind, stamp |-> c,
                 past |-> past \cup {<<p, Len(hist[p]) + 1>>}, heard |-> heard])]

Init ==
    /\ clock = [p \in Procs |-> Zero]
    /\ hist = [p \in Procs |-> << >>]
    /\ net = {}

Local(p) ==
    /\ Room(p)
    /\ clock' = [clock EXCEPT ![p] = Inc(@, p)]
    /\ Record(p, <<"local">>, Inc(clock[p], p), Past(p), Heard(p))
    /\ UNCHANGED net

Send(p, q) ==
    /\ Room(p)
    /\ LET c == Inc(clock[p], p)
           k == Len(hist[p]) + 1
       IN /\ clock' = [clock EXCEPT ![p] = c]
          /\ Record(p, <<"send", q>>, c, Past(p), Heard(p))
          /\ net' = net \cup {[from |-> p, sentAs |-> k, to |-> q, stamp |-> c,
                               past |-> Past(p) \cup {<<p, k>>}]}

Receive(p, m) ==
    /\ Room(p)
    /\ m.to = p
    /\ LET c == Inc(Merge(clock[p], m.stamp), p)
       IN /\ clock' = [clock EXCEPT ![p] = c]
          /\ Record(p, <<"receive", m.from, m.sentAs>>, c, Past(p) \cup m.past,
                    Heard(p) \cup {m.from})
          /\ net' = net \ {m}

Next ==
    \E p \in Procs :
        \/ Local(p)
        \/ \E q \in Procs \ {p} : Send(p, q)
        \/ \E m \in net : Receive(p, m)

Spec == Init /\ [][Next]_vars

Events == UNION {{<<p, k>> : k \in 1..Len(hist[p])} : p \in Procs}

Stamp(e) == hist[e[1]][e[2]].stamp

PastOf(e) == hist[e[1]][e[2]].past

Leq(a, b) == \A q \in Procs : a[q] <= b[q]

StampIsCausalPast ==
    \A e \in Events : \A i \in Procs :
        Stamp(e)[i] = Cardinality({f \in PastOf(e) : f[1] = i})

OrderIsCausality ==
    \A e, f \in Events :
        /\ (Leq(Stamp(e), Stamp(f)) /\ Stamp(e) # Stamp(f)) <=> (e \in PastOf(f) /\ e # f)
        /\ (Stamp(e) = Stamp(f)) <=> (e = f)
=============================================================================
