//! The controllers, step by step, on the primer's common cases and races.

use super::*;

const NO_BUGS: Bugs = Bugs {
    no_invalidate: false,
    no_writeback: false,
    early_write: false,
    ack_inv_in_is_d: false,
};

fn from(c: u8, msg: Msg) -> Envelope {
    Envelope {
        to: Node::Dir,
        from: Node::Cache(c),
        msg,
    }
}

fn to(c: u8, from: Node, msg: Msg) -> Envelope {
    Envelope {
        to: Node::Cache(c),
        from,
        msg,
    }
}

#[test]
fn a_read_miss_gets_data_from_memory_and_becomes_a_sharer() {
    let step = cache_cpu(CacheLine::INVALID, 0, CpuOp::Load, NO_BUGS).unwrap();
    assert_eq!(step.line.state, CacheState::IsD);
    assert_eq!(step.send, vec![from(0, Msg::GetS)]);
    let dir = dir_receive(DirLine::INITIAL, from(0, Msg::GetS), NO_BUGS).unwrap();
    assert_eq!((dir.line.state, dir.line.sharers), (DirState::S, 1));
    let data = dir.send[0];
    let done = cache_receive(step.line, 0, data, NO_BUGS).unwrap();
    assert_eq!(done.line.state, CacheState::S);
    assert_eq!(done.completed, Some(Completed::Load(0)));
}

#[test]
fn an_upgrade_invalidates_the_other_sharers_and_waits_for_their_acks() {
    let dir = DirLine {
        state: DirState::S,
        sharers: 0b111,
        owner: 0,
        memory: 0,
    };
    let step = dir_receive(dir, from(0, Msg::GetM), NO_BUGS).unwrap();
    assert_eq!(step.line.state, DirState::M);
    assert_eq!(step.line.owner, 0);
    assert_eq!(step.send.len(), 3, "data to c1, Inv to c2 and c3");
    let line = CacheLine {
        state: CacheState::SmAd,
        value: 0,
        acks: 0,
        pending: 1,
    };
    // An Inv-Ack overtakes the data: the count goes negative, then the data settles it.
    let line = cache_receive(line, 0, to(0, Node::Cache(1), Msg::InvAck), NO_BUGS)
        .unwrap()
        .line;
    assert_eq!(line.acks, -1);
    let line = cache_receive(line, 0, step.send[0], NO_BUGS).unwrap().line;
    assert_eq!((line.state, line.acks), (CacheState::SmA, 1));
    let last = cache_receive(line, 0, to(0, Node::Cache(2), Msg::InvAck), NO_BUGS).unwrap();
    assert_eq!(last.line.state, CacheState::M);
    assert_eq!(last.completed, Some(Completed::Store(1)));
}

#[test]
fn is_d_stalls_an_inv_unless_built_with_the_race() {
    let line = CacheLine {
        state: CacheState::IsD,
        ..CacheLine::INVALID
    };
    let inv = to(0, Node::Dir, Msg::Inv(1));
    assert!(cache_receive(line, 0, inv, NO_BUGS).is_none());
    let bugs = Bugs {
        ack_inv_in_is_d: true,
        ..NO_BUGS
    };
    assert_eq!(
        cache_receive(line, 0, inv, bugs).unwrap().line.state,
        CacheState::IsD
    );
}

#[test]
fn the_owner_answers_a_forwarded_read_with_data_to_both() {
    let line = CacheLine {
        state: CacheState::M,
        value: 1,
        acks: 0,
        pending: 0,
    };
    let step = cache_receive(line, 0, to(0, Node::Dir, Msg::FwdGetS(1)), NO_BUGS).unwrap();
    assert_eq!(step.line.state, CacheState::S);
    assert_eq!(step.send.len(), 2);
    assert_eq!(step.send[1].msg, Msg::WriteBack(Some(1)));
    let dir = DirLine {
        state: DirState::SD,
        sharers: 0b11,
        owner: 0,
        memory: 0,
    };
    let dir = dir_receive(dir, from(0, Msg::WriteBack(Some(1))), NO_BUGS).unwrap();
    assert_eq!((dir.line.state, dir.line.memory), (DirState::S, 1));
}

#[test]
fn the_directory_stalls_requests_while_waiting_for_the_owners_data() {
    let dir = DirLine {
        state: DirState::SD,
        sharers: 0b11,
        owner: 0,
        memory: 0,
    };
    assert!(dir_receive(dir, from(2, Msg::GetS), NO_BUGS).is_none());
    assert!(dir_receive(dir, from(2, Msg::GetM), NO_BUGS).is_none());
}
