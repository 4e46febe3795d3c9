------------------------------ MODULE TCommit ------------------------------
(***************************************************************************)
(* The transaction-commit problem, after Gray and Lamport, "Consensus on    *)
(* Transaction Commit" (ACM TODS 31(1), 2006), section 2.  Written for this *)
(* project's TLC anchor; see README.md.                                     *)
(*                                                                         *)
(* Each resource manager (RM) starts out "working".  It may prepare, and   *)
(* it may decide: commit, only once every RM is prepared or committed, or  *)
(* abort, only while no RM has committed.  The property that matters is    *)
(* TCConsistent: no RM commits while another aborts.                       *)
(***************************************************************************)
CONSTANT RM          \* the set of resource managers

VARIABLE rmState     \* rmState[r] is the state of resource manager r

States == {"working", "prepared", "committed", "aborted"}

TCTypeOK == rmState \in [RM -> States]

TCInit == rmState = [r \in RM |-> "working"]

\* Every RM is prepared or has already committed.
canCommit == \A r \in RM : rmState[r] \in {"prepared", "committed"}

\* No RM has committed.
notCommitted == \A r \in RM : rmState[r] # "committed"

Prepare(r) ==
  /\ rmState[r] = "working"
  /\ rmState' = [rmState EXCEPT ![r] = "prepared"]

Decide(r) ==
  \/ /\ rmState[r] = "prepared"
     /\ canCommit
     /\ rmState' = [rmState EXCEPT ![r] = "committed"]
  \/ /\ rmState[r] \in {"working", "prepared"}
     /\ notCommitted
     /\ rmState' = [rmState EXCEPT ![r] = "aborted"]

TCNext == \E r \in RM : Prepare(r) \/ Decide(r)

TCSpec == TCInit /\ [][TCNext]_rmState

TCConsistent ==
  \A r1, r2 \in RM : ~ (rmState[r1] = "aborted" /\ rmState[r2] = "committed")
=============================================================================
