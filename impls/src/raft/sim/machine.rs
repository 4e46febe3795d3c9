//! Each server's state machine, as in 6.5840's tester: the applied log itself (index →
//! command), which can be serialized into a snapshot and rebuilt from one.

use crate::raft::core::Index;

/// The commands applied so far, in index order: `commands[i - 1]` is the command at index
/// `i`.
///
/// Guarantee: it only ever grows by one index at a time ([`AppliedLog::apply`] refuses a
/// gap or a repeat), or is replaced whole by a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppliedLog {
    commands: Vec<Vec<u8>>,
}

impl AppliedLog {
    /// The state machine before anything is applied.
    pub fn new() -> AppliedLog {
        AppliedLog::default()
    }

    /// The last applied index (0 for none).
    pub fn last_index(&self) -> Index {
        self.commands.len() as Index
    }

    /// The command applied at `index`, if it has been.
    pub fn command(&self, index: Index) -> Option<&[u8]> {
        let i = usize::try_from(index.checked_sub(1)?).ok()?;
        self.commands.get(i).map(Vec::as_slice)
    }

    /// Every applied (index, command), in order.
    pub fn iter(&self) -> impl Iterator<Item = (Index, &[u8])> {
        (1..).zip(self.commands.iter().map(Vec::as_slice))
    }

    /// Applies `command` at `index`, which must be the next one: 6.5840's "apply out of
    /// order" is the error.
    pub fn apply(&mut self, index: Index, command: &[u8]) -> Result<(), String> {
        let next = self.last_index() + 1;
        if index != next {
            return Err(format!(
                "apply out of order: index {index} applied, {next} expected"
            ));
        }
        self.commands.push(command.to_vec());
        Ok(())
    }

    /// The state after applying every index up to `index` (at most the last applied),
    /// serialized: the count, then each command as a little-endian u32 length and its
    /// bytes.
    pub fn encode_through(&self, index: Index) -> Vec<u8> {
        let n = (index.min(self.last_index())) as usize;
        let mut out = (n as u64).to_le_bytes().to_vec();
        for c in &self.commands[..n] {
            out.extend_from_slice(&(c.len() as u32).to_le_bytes());
            out.extend_from_slice(c);
        }
        out
    }

    /// The state [`AppliedLog::encode_through`] wrote, or why `data` is not one.
    pub fn decode(data: &[u8]) -> Result<AppliedLog, String> {
        fn take<'a>(data: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
            if data.len() < n {
                return Err(format!(
                    "snapshot truncated: {} bytes left, {n} needed",
                    data.len()
                ));
            }
            let (head, tail) = data.split_at(n);
            *data = tail;
            Ok(head)
        }
        let mut rest = data;
        let count = u64::from_le_bytes(take(&mut rest, 8)?.try_into().expect("8 bytes"));
        let mut commands = Vec::new();
        for _ in 0..count {
            let len = u32::from_le_bytes(take(&mut rest, 4)?.try_into().expect("4 bytes"));
            commands.push(take(&mut rest, len as usize)?.to_vec());
        }
        if !rest.is_empty() {
            return Err(format!(
                "{} bytes after the snapshot's last command",
                rest.len()
            ));
        }
        Ok(AppliedLog { commands })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_order_only() {
        let mut m = AppliedLog::new();
        m.apply(1, b"a").unwrap();
        assert!(m.apply(3, b"c").unwrap_err().contains("out of order"));
        assert!(m.apply(1, b"a").is_err());
        m.apply(2, b"").unwrap();
        assert_eq!(
            (m.last_index(), m.command(1), m.command(2)),
            (2, Some(&b"a"[..]), Some(&[][..]))
        );
        assert_eq!(m.command(0), None);
    }

    #[test]
    fn a_snapshot_round_trips_and_a_torn_one_is_refused() {
        let mut m = AppliedLog::new();
        for (i, c) in [&b"x"[..], b"", b"hello"].iter().enumerate() {
            m.apply(i as Index + 1, c).unwrap();
        }
        assert_eq!(AppliedLog::decode(&m.encode_through(9)).unwrap(), m);
        let two = AppliedLog::decode(&m.encode_through(2)).unwrap();
        assert_eq!(two.last_index(), 2);
        let data = m.encode_through(3);
        assert!(AppliedLog::decode(&data[..data.len() - 1]).is_err());
        assert!(AppliedLog::decode(&[data.as_slice(), b"!"].concat()).is_err());
    }
}
