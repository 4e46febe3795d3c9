//! The example workload: money transfers between accounts at different banks, and the
//! checker of what must hold after any run, however many crashes and lost messages.
//!
//! The invariants [`audit`] checks:
//! 1. **Atomicity**: every transaction is committed at all of its participants or at none.
//! 2. **Balance**: the total across all banks is what it was at the start, every account
//!    holds its initial balance plus exactly the transfers committed (none half-applied,
//!    none applied twice), and no account is negative.
//! 3. **Nothing acknowledged is lost**: every transaction `begin_transaction` reported
//!    committed is committed at every participant; every one it reported aborted, at none.
//! 4. **Nothing left in doubt**: every node is up and no participant still holds locks for
//!    an undecided transaction.

use super::messages::{Decision, Op};
use super::runtime::{Snapshot, TxError};
use super::{NodeId, ParticipantId, TxId};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Three banks of two accounts each, 500 in every account: 3000 in all.
///
/// bank-a holds alice and amy, bank-b bob and ben, bank-c carol and cat.
pub fn three_banks() -> Vec<BTreeMap<String, i64>> {
    [["alice", "amy"], ["bob", "ben"], ["carol", "cat"]]
        .iter()
        .map(|accounts| accounts.iter().map(|a| (a.to_string(), 500)).collect())
        .collect()
}

/// The money in all accounts of all banks.
pub fn total(banks: &[BTreeMap<String, i64>]) -> i64 {
    banks.iter().flat_map(|b| b.values()).sum()
}

/// One leg of a transaction: `delta` added to `account` at `bank`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leg {
    /// The participant.
    pub bank: ParticipantId,
    /// The account there.
    pub account: String,
    /// Added to the balance (negative to debit).
    pub delta: i64,
}

/// A transaction of the workload: legs that sum to zero, so money only moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    /// Its id.
    pub tx: TxId,
    /// Its legs.
    pub legs: Vec<Leg>,
}

impl Transaction {
    /// `amount` moved from `from` to `to`, each a `(bank, account)`.
    pub fn transfer(
        tx: TxId,
        from: (ParticipantId, &str),
        to: (ParticipantId, &str),
        amount: i64,
    ) -> Transaction {
        Transaction {
            tx,
            legs: vec![
                Leg {
                    bank: from.0,
                    account: from.1.to_string(),
                    delta: -amount,
                },
                Leg {
                    bank: to.0,
                    account: to.1.to_string(),
                    delta: amount,
                },
            ],
        }
    }

    /// The operations of each participant, as [`Client::begin_transaction`] takes them.
    ///
    /// [`Client::begin_transaction`]: super::Client::begin_transaction
    pub fn ops(&self) -> BTreeMap<ParticipantId, Vec<Op>> {
        let mut ops: BTreeMap<ParticipantId, Vec<Op>> = BTreeMap::new();
        for leg in &self.legs {
            ops.entry(leg.bank)
                .or_default()
                .push(Op::new(leg.account.clone(), leg.delta));
        }
        ops
    }

    /// The participants it touches.
    pub fn banks(&self) -> BTreeSet<ParticipantId> {
        self.legs.iter().map(|l| l.bank).collect()
    }
}

impl fmt::Display for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}:", self.tx)?;
        for leg in &self.legs {
            write!(
                f,
                " {}/{} {:+}",
                NodeId::Participant(leg.bank),
                leg.account,
                leg.delta
            )?;
        }
        Ok(())
    }
}

/// A small seeded workload: `n` transfers numbered from `first_tx`, between random accounts
/// of different banks, of 1 to 400 (so some fail for lack of funds once balances move).
pub fn random_transfers(
    seed: u64,
    first_tx: TxId,
    n: usize,
    banks: &[BTreeMap<String, i64>],
) -> Vec<Transaction> {
    let mut rng = crate::sim::SplitMix64::new(seed);
    let accounts: Vec<(ParticipantId, String)> = banks
        .iter()
        .enumerate()
        .flat_map(|(b, accounts)| accounts.keys().map(move |a| (b, a.clone())))
        .collect();
    (0..n)
        .map(|i| {
            let from = &accounts[rng.below(accounts.len() as u64) as usize];
            let to = loop {
                let to = &accounts[rng.below(accounts.len() as u64) as usize];
                if to.0 != from.0 {
                    break to;
                }
            };
            let amount = 1 + rng.below(400) as i64;
            Transaction::transfer(
                first_tx + i as TxId,
                (from.0, &from.1),
                (to.0, &to.1),
                amount,
            )
        })
        .collect()
}

/// What the audit found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audit {
    /// Money at the start.
    pub total_before: i64,
    /// Money at the end (summed over the banks that are up).
    pub total_after: i64,
    /// Transactions committed everywhere.
    pub committed: usize,
    /// Transactions committed nowhere.
    pub aborted: usize,
    /// Every invariant violation, described; empty when all hold.
    pub violations: Vec<String>,
}

impl Audit {
    /// Whether every invariant holds.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Checks the invariants (see the module docs) of a run that started with `initial`
/// balances, ran `txs`, and whose clients saw `outcomes`, against the cluster's state
/// `after` the run (taken once it is quiescent).
pub fn audit(
    initial: &[BTreeMap<String, i64>],
    txs: &[Transaction],
    outcomes: &BTreeMap<TxId, Result<Decision, TxError>>,
    after: &Snapshot,
) -> Audit {
    let mut violations = Vec::new();
    if after.coordinator.is_none() {
        violations.push("the coordinator is down".to_string());
    }
    if let Some(c) = &after.coordinator {
        if !c.active.is_empty() {
            violations.push(format!(
                "transactions still active at the coordinator: {:?}",
                c.active
            ));
        }
    }
    let mut banks = Vec::new();
    for (p, status) in after.participants.iter().enumerate() {
        match status {
            None => violations.push(format!("{} is down", NodeId::Participant(p))),
            Some(s) => {
                if !s.in_doubt.is_empty() {
                    violations.push(format!(
                        "{} is still in doubt about {:?}",
                        NodeId::Participant(p),
                        s.in_doubt
                    ));
                }
                if s.contradictions > 0 {
                    violations.push(format!(
                        "{} was told decisions of {} transactions that contradict its own records",
                        NodeId::Participant(p),
                        s.contradictions
                    ));
                }
            }
        }
        banks.push(status.as_ref());
    }

    // 1. Atomicity, and which transactions count as committed.
    let mut expected: Vec<BTreeMap<String, i64>> = initial.to_vec();
    let (mut committed, mut aborted) = (0, 0);
    let known: BTreeSet<TxId> = txs.iter().map(|t| t.tx).collect();
    for t in txs {
        let at: BTreeSet<ParticipantId> = t
            .banks()
            .into_iter()
            .filter(|&b| banks[b].is_some_and(|s| s.committed.contains(&t.tx)))
            .collect();
        let everywhere = at.len() == t.banks().len();
        if everywhere {
            committed += 1;
            for leg in &t.legs {
                *expected[leg.bank].entry(leg.account.clone()).or_insert(0) += leg.delta;
            }
        } else if at.is_empty() {
            aborted += 1;
        } else {
            violations.push(format!(
                "atomicity: {t} committed at {:?} but not at the others",
                at.iter()
                    .map(|&b| NodeId::Participant(b).name())
                    .collect::<Vec<_>>()
            ));
        }
        // 3. What the client was told.
        match outcomes.get(&t.tx) {
            Some(Ok(Decision::Commit)) if !everywhere => violations.push(format!(
                "lost: {t} was acknowledged committed but is not committed everywhere"
            )),
            Some(Ok(Decision::Abort)) if !at.is_empty() => violations.push(format!(
                "{t} was reported aborted but is committed at some bank"
            )),
            _ => {}
        }
    }
    for (p, s) in banks.iter().enumerate() {
        if let Some(s) = s {
            let strangers: Vec<_> = s.committed.difference(&known).collect();
            if !strangers.is_empty() {
                violations.push(format!(
                    "{} committed transactions nobody began: {strangers:?}",
                    NodeId::Participant(p)
                ));
            }
        }
    }

    // 2. Balances.
    let total_before = total(initial);
    let total_after: i64 = banks
        .iter()
        .flatten()
        .flat_map(|s| s.balances.values())
        .sum();
    if banks.iter().all(Option::is_some) && total_after != total_before {
        violations.push(format!(
            "balance: the banks hold {total_after} in all, not {total_before}"
        ));
    }
    for (p, s) in banks.iter().enumerate() {
        let Some(s) = s else { continue };
        if s.balances != expected[p] {
            violations.push(format!(
                "balance: {} holds {:?}, but its initial balances plus the transfers \
                 committed everywhere give {:?}",
                NodeId::Participant(p),
                s.balances,
                expected[p]
            ));
        }
        for (account, b) in &s.balances {
            if *b < 0 {
                violations.push(format!(
                    "balance: {}/{account} is negative ({b})",
                    NodeId::Participant(p)
                ));
            }
        }
    }
    Audit {
        total_before,
        total_after,
        committed,
        aborted,
        violations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twopc::core::{CoordinatorStatus, ParticipantStatus};

    /// The state after `committed_at[b]` transactions were committed at bank `b`.
    fn snapshot(txs: &[Transaction], committed_at: &[&[TxId]]) -> Snapshot {
        let mut balances = three_banks();
        let participants = committed_at
            .iter()
            .enumerate()
            .map(|(b, ids)| {
                for t in txs.iter().filter(|t| ids.contains(&t.tx)) {
                    for leg in t.legs.iter().filter(|l| l.bank == b) {
                        *balances[b].get_mut(&leg.account).unwrap() += leg.delta;
                    }
                }
                Some(ParticipantStatus {
                    balances: balances[b].clone(),
                    committed: ids.iter().copied().collect(),
                    ..ParticipantStatus::default()
                })
            })
            .collect();
        Snapshot {
            coordinator: Some(CoordinatorStatus::default()),
            participants,
        }
    }

    fn txs() -> Vec<Transaction> {
        vec![
            Transaction::transfer(1, (0, "alice"), (1, "bob"), 100),
            Transaction::transfer(2, (1, "ben"), (2, "cat"), 50),
        ]
    }

    #[test]
    fn a_correct_run_passes() {
        let outcomes = BTreeMap::from([(1, Ok(Decision::Commit)), (2, Ok(Decision::Abort))]);
        let a = audit(
            &three_banks(),
            &txs(),
            &outcomes,
            &snapshot(&txs(), &[&[1], &[1], &[]]),
        );
        assert!(a.ok(), "{:?}", a.violations);
        assert_eq!((a.committed, a.aborted, a.total_after), (1, 1, 3000));
    }

    #[test]
    fn a_half_applied_transfer_breaks_atomicity_and_the_balance() {
        let outcomes = BTreeMap::new();
        let a = audit(
            &three_banks(),
            &txs(),
            &outcomes,
            &snapshot(&txs(), &[&[1], &[], &[]]),
        );
        assert!(
            a.violations.iter().any(|v| v.starts_with("atomicity: tx1")),
            "{a:?}"
        );
        assert!(
            a.violations.iter().any(|v| v.contains("hold 2900 in all")),
            "{a:?}"
        );
    }

    #[test]
    fn a_lost_acknowledged_commit_is_caught() {
        let outcomes = BTreeMap::from([(2, Ok(Decision::Commit))]);
        let a = audit(
            &three_banks(),
            &txs(),
            &outcomes,
            &snapshot(&txs(), &[&[], &[], &[]]),
        );
        assert!(
            a.violations.iter().any(|v| v.starts_with("lost: tx2")),
            "{a:?}"
        );
    }

    #[test]
    fn a_double_applied_commit_and_leftover_doubt_are_caught() {
        let mut s = snapshot(&txs(), &[&[1], &[1], &[]]);
        let bob = s.participants[1].as_mut().unwrap();
        *bob.balances.get_mut("bob").unwrap() += 100;
        bob.in_doubt.insert(2);
        let a = audit(&three_banks(), &txs(), &BTreeMap::new(), &s);
        assert!(
            a.violations.iter().any(|v| v.contains("bank-b holds")),
            "{a:?}"
        );
        assert!(a.violations.iter().any(|v| v.contains("in doubt")), "{a:?}");
    }

    #[test]
    fn random_transfers_are_seeded_and_cross_banks() {
        let a = random_transfers(3, 10, 50, &three_banks());
        assert_eq!(a, random_transfers(3, 10, 50, &three_banks()));
        assert!(a.iter().all(|t| t.banks().len() == 2 && t.legs.len() == 2));
        assert_eq!(a[0].tx, 10);
        assert_eq!(a[49].tx, 59);
    }
}
