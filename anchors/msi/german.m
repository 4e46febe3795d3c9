-- German's cache-coherence protocol, written for rumur (Murphi dialect).
--
-- Written from the protocol's textual description (Steven German's challenge
-- problem, as formulated in Chou, Mannava & Park, FMCAD 2004, and in many
-- later parameterized-verification papers). One home node (directory + memory)
-- serves NODE_NUM caching clients. Each client has three one-slot channels to
-- and from home:
--   Chan1[i]: client -> home  requests       ReqS, ReqE
--   Chan2[i]: home -> client  messages       Inv, GntS, GntE (grants carry data)
--   Chan3[i]: client -> home  acknowledgment InvAck (carries data if it was E)
-- Home handles one request at a time (CurCmd / CurPtr); ShrSet is the
-- directory's sharer vector, InvSet the set of sharers still to be sent Inv,
-- ExGntd records that an exclusive copy is out. AuxData is ghost state: the
-- most recent value written by any Store, used by DataProp.
--
-- Knobs (run.sh rewrites these two lines with sed):
--   NODE_NUM : number of clients.
--   MUTANT   : 0 = correct protocol
--              1 = RecvReqE never schedules invalidation of the sharers
--                  (InvSet is left empty), so the sharers are never told to
--                  drop their copies before an exclusive grant
--              2 = SendGntS ignores ExGntd: a shared grant can be issued while
--                  another client still holds the line exclusively
--              3 = RecvInvAck drops the write-back: MemData is not updated
--                  from the exclusive owner's InvAck
--              4 = mutant 1 and, in addition, SendGntE does not wait for
--                  ShrSet to drain: an exclusive grant goes out while
--                  sharers still hold the line

const
  NODE_NUM : 2;
  DATA_NUM : 2;
  MUTANT   : 0;

type
  NODE : scalarset(NODE_NUM);
  DATA : scalarset(DATA_NUM);

  CACHE_STATE : enum { I, S, E };
  CACHE : record
    State : CACHE_STATE;
    Data  : DATA;
  end;

  MSG_CMD : enum { Empty, ReqS, ReqE, Inv, InvAck, GntS, GntE };
  MSG : record
    Cmd  : MSG_CMD;
    Data : DATA;
  end;

var
  Cache   : array [NODE] of CACHE;
  Chan1   : array [NODE] of MSG;     -- requests to home
  Chan2   : array [NODE] of MSG;     -- Inv / grants from home
  Chan3   : array [NODE] of MSG;     -- InvAck to home
  ShrSet  : array [NODE] of boolean; -- directory: who may hold a copy
  InvSet  : array [NODE] of boolean; -- sharers still to be invalidated
  ExGntd  : boolean;                 -- an exclusive copy has been granted
  CurCmd  : MSG_CMD;                 -- request home is serving (or Empty)
  CurPtr  : NODE;                    -- whose request that is
  MemData : DATA;                    -- memory's copy of the line
  AuxData : DATA;                    -- ghost: latest value written

-- Initial state: everything empty/invalid; memory holds some value d.
-- Data fields of empty messages and invalid caches, and CurPtr, stay
-- undefined so that they do not split states that are otherwise equal.
ruleset d : DATA do
  startstate "Init"
    for i : NODE do
      Cache[i].State := I;
      undefine Cache[i].Data;
      Chan1[i].Cmd := Empty; undefine Chan1[i].Data;
      Chan2[i].Cmd := Empty; undefine Chan2[i].Data;
      Chan3[i].Cmd := Empty; undefine Chan3[i].Data;
      ShrSet[i] := false;
      InvSet[i] := false;
    end;
    ExGntd := false;
    CurCmd := Empty;
    undefine CurPtr;
    MemData := d;
    AuxData := d;
  endstartstate;
endruleset;

---------------------------------------------------------------------------
-- Client side
---------------------------------------------------------------------------

-- An invalid client asks for a shared copy.
ruleset i : NODE do
  rule "SendReqS"
    Chan1[i].Cmd = Empty & Cache[i].State = I
  ==>
    Chan1[i].Cmd := ReqS;
  endrule;
endruleset;

-- An invalid or shared client asks for an exclusive copy (an upgrade if S).
ruleset i : NODE do
  rule "SendReqE"
    Chan1[i].Cmd = Empty & (Cache[i].State = I | Cache[i].State = S)
  ==>
    Chan1[i].Cmd := ReqE;
  endrule;
endruleset;

-- A client answers Inv: it drops its copy and acks; an exclusive owner
-- returns its (possibly modified) data in the ack.
ruleset i : NODE do
  rule "SendInvAck"
    Chan2[i].Cmd = Inv & Chan3[i].Cmd = Empty
  ==>
    Chan2[i].Cmd := Empty;
    Chan3[i].Cmd := InvAck;
    if Cache[i].State = E then
      Chan3[i].Data := Cache[i].Data;
    end;
    Cache[i].State := I;
    undefine Cache[i].Data;
  endrule;
endruleset;

-- A client installs a shared grant.
ruleset i : NODE do
  rule "RecvGntS"
    Chan2[i].Cmd = GntS
  ==>
    Cache[i].State := S;
    Cache[i].Data := Chan2[i].Data;
    Chan2[i].Cmd := Empty;
    undefine Chan2[i].Data;
  endrule;
endruleset;

-- A client installs an exclusive grant.
ruleset i : NODE do
  rule "RecvGntE"
    Chan2[i].Cmd = GntE
  ==>
    Cache[i].State := E;
    Cache[i].Data := Chan2[i].Data;
    Chan2[i].Cmd := Empty;
    undefine Chan2[i].Data;
  endrule;
endruleset;

-- The exclusive owner writes a value d; the ghost AuxData tracks it.
ruleset i : NODE; d : DATA do
  rule "Store"
    Cache[i].State = E
  ==>
    Cache[i].Data := d;
    AuxData := d;
  endrule;
endruleset;

---------------------------------------------------------------------------
-- Home side
---------------------------------------------------------------------------

-- Home takes a ReqS when idle; every current sharer becomes a candidate for
-- invalidation (only actually sent Inv if the line is held exclusively).
ruleset i : NODE do
  rule "RecvReqS"
    CurCmd = Empty & Chan1[i].Cmd = ReqS
  ==>
    CurCmd := ReqS;
    CurPtr := i;
    Chan1[i].Cmd := Empty;
    for j : NODE do
      InvSet[j] := ShrSet[j];
    end;
  endrule;
endruleset;

-- Home takes a ReqE when idle; all current sharers must be invalidated.
ruleset i : NODE do
  rule "RecvReqE"
    CurCmd = Empty & Chan1[i].Cmd = ReqE
  ==>
    CurCmd := ReqE;
    CurPtr := i;
    Chan1[i].Cmd := Empty;
    for j : NODE do
      if MUTANT = 1 | MUTANT = 4 then
        InvSet[j] := false;      -- BUG: sharers are never invalidated
      else
        InvSet[j] := ShrSet[j];
      end;
    end;
  endrule;
endruleset;

-- Home sends Inv to a pending sharer: always for ReqE, and for ReqS only
-- when the line is held exclusively (the owner must give it up).
ruleset i : NODE do
  rule "SendInv"
    Chan2[i].Cmd = Empty & InvSet[i] &
    (CurCmd = ReqE | (CurCmd = ReqS & ExGntd))
  ==>
    Chan2[i].Cmd := Inv;
    InvSet[i] := false;
  endrule;
endruleset;

-- Home receives an InvAck: the client is no longer a sharer; if it was the
-- exclusive owner, its data is written back to memory.
ruleset i : NODE do
  rule "RecvInvAck"
    Chan3[i].Cmd = InvAck & CurCmd != Empty
  ==>
    Chan3[i].Cmd := Empty;
    ShrSet[i] := false;
    if ExGntd then
      ExGntd := false;
      if MUTANT != 3 then
        MemData := Chan3[i].Data;  -- (MUTANT 3: write-back lost)
      end;
      undefine Chan3[i].Data;
    end;
  endrule;
endruleset;

-- Home grants a shared copy once no exclusive copy is out.
ruleset i : NODE do
  rule "SendGntS"
    CurCmd = ReqS & CurPtr = i & Chan2[i].Cmd = Empty &
    (MUTANT = 2 | !ExGntd)           -- (MUTANT 2: ExGntd not checked)
  ==>
    Chan2[i].Cmd := GntS;
    Chan2[i].Data := MemData;
    ShrSet[i] := true;
    CurCmd := Empty;
    undefine CurPtr;
  endrule;
endruleset;

-- Home grants an exclusive copy once nobody else holds the line.
ruleset i : NODE do
  rule "SendGntE"
    CurCmd = ReqE & CurPtr = i & Chan2[i].Cmd = Empty & !ExGntd &
    (MUTANT = 4 | (forall j : NODE do !ShrSet[j] end))
                                     -- (MUTANT 4: sharers not awaited)
  ==>
    Chan2[i].Cmd := GntE;
    Chan2[i].Data := MemData;
    ShrSet[i] := true;
    ExGntd := true;
    CurCmd := Empty;
    undefine CurPtr;
  endrule;
endruleset;

---------------------------------------------------------------------------
-- Properties
---------------------------------------------------------------------------

-- Coherence: an exclusive copy excludes every other valid copy.
invariant "CtrlProp"
  forall i : NODE do
    forall j : NODE do
      i != j ->
        ((Cache[i].State = E -> Cache[j].State = I) &
         (Cache[i].State = S -> (Cache[j].State = I | Cache[j].State = S)))
    end
  end;

-- Data integrity: memory is current unless an exclusive copy is out, and
-- every valid copy holds the latest written value.
invariant "DataProp"
  (!ExGntd -> MemData = AuxData) &
  forall i : NODE do
    Cache[i].State != I -> Cache[i].Data = AuxData
  end;
