//! The node's state machine. (Skeleton: the public API the model and the runtimes build
//! on; the bodies are being written.)

use super::{Config, Durable, Effect, Entry, Index, Input, Message, Role, Snapshot, Term};
use crate::raft::NodeId;
use crate::sansio::Core;

/// One Raft server's protocol state: Figure 2's persistent and volatile state, plus
/// PreVote's and CheckQuorum's bookkeeping and the logical clock.
///
/// Guarantees: `step` is deterministic in the state and the input; its effects put every
/// `Persist` before every `Send`; `Hash`/`Eq` cover every field, so a model may use a node
/// as part of its state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    config: Config,
}

impl Node {
    /// A fresh server with an empty log, in term 0, as a follower.
    pub fn new(config: Config) -> Node {
        let _ = config;
        unimplemented!("skeleton")
    }

    /// A server restarting from what it persisted: a follower with `durable`'s term, vote,
    /// snapshot and log; commit and applied indices at the snapshot (the driver restores
    /// its state machine from `durable.snapshot` itself, then entries are applied again
    /// as the node learns they are committed).
    pub fn restart(config: Config, durable: Durable) -> Node {
        let _ = (config, durable);
        unimplemented!("skeleton")
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// This server's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }
    /// `currentTerm`.
    pub fn term(&self) -> Term {
        unimplemented!("skeleton")
    }
    /// `votedFor` in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        unimplemented!("skeleton")
    }
    /// The role.
    pub fn role(&self) -> Role {
        unimplemented!("skeleton")
    }
    /// The leader this node knows of in its current term (itself when leading).
    pub fn leader(&self) -> Option<NodeId> {
        unimplemented!("skeleton")
    }
    /// `commitIndex`.
    pub fn commit_index(&self) -> Index {
        unimplemented!("skeleton")
    }
    /// The highest index handed to the state machine (`lastApplied`).
    pub fn applied_index(&self) -> Index {
        unimplemented!("skeleton")
    }
    /// The index of the last log entry (the snapshot's last index for an empty log).
    pub fn last_index(&self) -> Index {
        unimplemented!("skeleton")
    }
    /// The term of the last log entry (the snapshot's for an empty log, 0 for none).
    pub fn last_term(&self) -> Term {
        unimplemented!("skeleton")
    }
    /// The term of the entry at `index`: `Some(0)` for index 0, the snapshot's term at its
    /// last index, `None` if compacted away or beyond the log.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        let _ = index;
        unimplemented!("skeleton")
    }
    /// The entry at `index`, if the log holds it (not compacted, not beyond the end).
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        let _ = index;
        unimplemented!("skeleton")
    }
    /// The latest snapshot, if the log has been compacted.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        unimplemented!("skeleton")
    }
    /// The first index the log still holds (1 without a snapshot).
    pub fn first_index(&self) -> Index {
        unimplemented!("skeleton")
    }
    /// A leader's `matchIndex` for `peer` (its own last index for itself); `None` when not
    /// leading.
    pub fn match_index(&self, peer: NodeId) -> Option<Index> {
        let _ = peer;
        unimplemented!("skeleton")
    }
    /// A leader's `nextIndex` for `peer`; `None` when not leading.
    pub fn next_index(&self, peer: NodeId) -> Option<Index> {
        let _ = peer;
        unimplemented!("skeleton")
    }
    /// What a restart would recover now, were every persist effect so far carried out.
    pub fn durable(&self) -> Durable {
        unimplemented!("skeleton")
    }
    /// The randomised election timeout currently in force, in ticks.
    pub fn election_timeout(&self) -> u32 {
        unimplemented!("skeleton")
    }

    /// The same node with every server id renamed by `rename` (server `i` becomes
    /// `rename[i]`): for the model's symmetry reduction. Peers' per-server state moves with
    /// them.
    pub fn renamed(&self, rename: &[NodeId]) -> Node {
        let _ = rename;
        unimplemented!("skeleton")
    }
}

impl Core for Node {
    type Input = Input;
    type Effect = Effect;

    fn step(&mut self, input: Input) -> Vec<Effect> {
        let _ = (
            input,
            Message::RequestVoteResponse {
                term: 0,
                granted: false,
                pre_vote: false,
            },
        );
        unimplemented!("skeleton")
    }
}
