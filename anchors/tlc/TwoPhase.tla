------------------------------ MODULE TwoPhase ------------------------------
(***************************************************************************)
(* Two-phase commit, after Gray and Lamport, "Consensus on Transaction     *)
(* Commit" (ACM TODS 31(1), 2006), section 3.  Written for this project's  *)
(* TLC anchor; see README.md.                                               *)
(*                                                                         *)
(* A transaction manager (TM) coordinates the resource managers (RMs).     *)
(* Messages are never lost or reordered in any way that matters: msgs is   *)
(* the set of every message ever sent, and receiving one does not remove   *)
(* it.  A "Prepared" message names its sender; "Commit" and "Abort" go to  *)
(* all RMs.                                                                *)
(***************************************************************************)
CONSTANT RM

VARIABLES
  rmState,     \* rmState[r]: "working", "prepared", "committed" or "aborted"
  tmState,     \* the TM: "init", "committed" or "aborted"
  tmPrepared,  \* the RMs from which the TM has received "Prepared"
  msgs         \* every message sent so far

vars == <<rmState, tmState, tmPrepared, msgs>>

Messages ==
  [type : {"Prepared"}, rm : RM] \cup [type : {"Commit", "Abort"}]

TPTypeOK ==
  /\ rmState \in [RM -> {"working", "prepared", "committed", "aborted"}]
  /\ tmState \in {"init", "committed", "aborted"}
  /\ tmPrepared \subseteq RM
  /\ msgs \subseteq Messages

TPInit ==
  /\ rmState = [r \in RM |-> "working"]
  /\ tmState = "init"
  /\ tmPrepared = {}
  /\ msgs = {}

(* The TM's actions *)

TMRcvPrepared(r) ==
  /\ tmState = "init"
  /\ [type |-> "Prepared", rm |-> r] \in msgs
  /\ tmPrepared' = tmPrepared \cup {r}
  /\ UNCHANGED <<rmState, tmState, msgs>>

TMCommit ==
  /\ tmState = "init"
  /\ tmPrepared = RM
  /\ tmState' = "committed"
  /\ msgs' = msgs \cup {[type |-> "Commit"]}
  /\ UNCHANGED <<rmState, tmPrepared>>

TMAbort ==
  /\ tmState = "init"
  /\ tmState' = "aborted"
  /\ msgs' = msgs \cup {[type |-> "Abort"]}
  /\ UNCHANGED <<rmState, tmPrepared>>

(* The actions of resource manager r *)

RMPrepare(r) ==
  /\ rmState[r] = "working"
  /\ rmState' = [rmState EXCEPT ![r] = "prepared"]
  /\ msgs' = msgs \cup {[type |-> "Prepared", rm |-> r]}
  /\ UNCHANGED <<tmState, tmPrepared>>

RMChooseToAbort(r) ==
  /\ rmState[r] = "working"
  /\ rmState' = [rmState EXCEPT ![r] = "aborted"]
  /\ UNCHANGED <<tmState, tmPrepared, msgs>>

RMRcvCommitMsg(r) ==
  /\ [type |-> "Commit"] \in msgs
  /\ rmState' = [rmState EXCEPT ![r] = "committed"]
  /\ UNCHANGED <<tmState, tmPrepared, msgs>>

RMRcvAbortMsg(r) ==
  /\ [type |-> "Abort"] \in msgs
  /\ rmState' = [rmState EXCEPT ![r] = "aborted"]
  /\ UNCHANGED <<tmState, tmPrepared, msgs>>

TPNext ==
  \/ TMCommit
  \/ TMAbort
  \/ \E r \in RM :
       \/ TMRcvPrepared(r)
       \/ RMPrepare(r)
       \/ RMChooseToAbort(r)
       \/ RMRcvCommitMsg(r)
       \/ RMRcvAbortMsg(r)

TPSpec == TPInit /\ [][TPNext]_vars

(* TCommit's definitions with its rmState taken to be this module's, so   *)
(* that TCConsistent below is the consistency property of TCommit, and    *)
(* TCSpec is the claim that two-phase commit implements it.               *)
INSTANCE TCommit
=============================================================================
