//! Counters a node keeps about its own work, returned by the `Stats` request.

use super::NodeId;

/// A snapshot of one node's counters since it started (counters restart from 0 when the
/// node restarts; `incarnation` tells restarts apart).
///
/// Counts of requests are those this node *coordinated*; counts of hints and log records
/// are this node's own store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// The node.
    pub node: NodeId,
    /// How many times the node has booted on its data directory (1 on the first boot).
    pub incarnation: u32,
    /// The epoch of the membership the node follows.
    pub epoch: u64,
    /// Members in that membership.
    pub members: u64,
    /// Peers this node's links are connected to now.
    pub peers_up: u64,
    /// Puts that succeeded.
    pub puts: u64,
    /// Gets that succeeded.
    pub gets: u64,
    /// Successful gets that wrote their value back to stale replicas (read repair).
    pub repairs: u64,
    /// Requests refused as unavailable (too few replicas reachable).
    pub unavailable: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Hinted writes this node sent to fallbacks for replicas that did not acknowledge.
    pub handoffs: u64,
    /// Hints this node stored as a fallback for another node.
    pub hints_stored: u64,
    /// Hints (including re-replication transfers) delivered and acknowledged.
    pub hints_delivered: u64,
    /// Hints this node holds now, waiting for delivery.
    pub hints_pending: u64,
    /// Copies queued for new replicas after membership changes (re-replication).
    pub transfers: u64,
    /// Keys in this node's store.
    pub keys: u64,
    /// Group commits: one log write and one fsync each.
    pub wal_syncs: u64,
    /// Records made durable by those commits.
    pub wal_records: u64,
    /// Records replayed from the log at boot.
    pub recovered_records: u64,
    /// Bytes of torn tail cut off the log at boot.
    pub torn_bytes: u64,
    /// 1 while the node is being repaired after rejoining with an empty store (it answers
    /// no reads and coordinates no puts), else 0.
    pub repairing: u64,
    /// Reads this node coordinated that a repairing replica answered with "not ready"
    /// (counted as no answer).
    pub not_ready_replies: u64,
    /// Connections refused because the node already served its maximum.
    pub connections_refused: u64,
}

impl Stats {
    /// The number of counters.
    pub const FIELDS: usize = 23;

    /// Every counter as `(name, value)`, in declaration order, for printing.
    pub fn fields(&self) -> [(&'static str, u64); Stats::FIELDS] {
        [
            ("node", u64::from(self.node)),
            ("incarnation", u64::from(self.incarnation)),
            ("epoch", self.epoch),
            ("members", self.members),
            ("peers_up", self.peers_up),
            ("puts", self.puts),
            ("gets", self.gets),
            ("repairs", self.repairs),
            ("unavailable", self.unavailable),
            ("timeouts", self.timeouts),
            ("handoffs", self.handoffs),
            ("hints_stored", self.hints_stored),
            ("hints_delivered", self.hints_delivered),
            ("hints_pending", self.hints_pending),
            ("transfers", self.transfers),
            ("keys", self.keys),
            ("wal_syncs", self.wal_syncs),
            ("wal_records", self.wal_records),
            ("recovered_records", self.recovered_records),
            ("torn_bytes", self.torn_bytes),
            ("repairing", self.repairing),
            ("not_ready_replies", self.not_ready_replies),
            ("connections_refused", self.connections_refused),
        ]
    }

    /// The inverse of [`Stats::fields`], from the values alone; `None` if the node id or
    /// the incarnation does not fit in 32 bits.
    pub(crate) fn from_values(v: [u64; Stats::FIELDS]) -> Option<Stats> {
        Some(Stats {
            node: u32::try_from(v[0]).ok()?,
            incarnation: u32::try_from(v[1]).ok()?,
            epoch: v[2],
            members: v[3],
            peers_up: v[4],
            puts: v[5],
            gets: v[6],
            repairs: v[7],
            unavailable: v[8],
            timeouts: v[9],
            handoffs: v[10],
            hints_stored: v[11],
            hints_delivered: v[12],
            hints_pending: v[13],
            transfers: v[14],
            keys: v[15],
            wal_syncs: v[16],
            wal_records: v[17],
            recovered_records: v[18],
            torn_bytes: v[19],
            repairing: v[20],
            not_ready_replies: v[21],
            connections_refused: v[22],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_fields() {
        let mut values = [0u64; Stats::FIELDS];
        for (i, v) in values.iter_mut().enumerate() {
            *v = i as u64 * 7 + 1;
        }
        let stats = Stats::from_values(values).unwrap();
        let back: Vec<u64> = stats.fields().iter().map(|(_, v)| *v).collect();
        assert_eq!(back, values);
    }
}
