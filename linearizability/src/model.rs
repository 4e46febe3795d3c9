//! Sequential specifications.

use crate::Operation;
use std::fmt::Debug;
use std::hash::Hash;

/// A model behind a reference is the same model.
impl<M: Model> Model for &M {
    type State = M::State;
    type Input = M::Input;
    type Output = M::Output;

    fn init(&self) -> Self::State {
        (**self).init()
    }

    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State> {
        (**self).step(state, input, output)
    }

    fn is_read_only(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
        (**self).is_read_only(input, output)
    }

    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        (**self).describe_operation(input, output)
    }

    fn describe_state(&self, state: &Self::State) -> String {
        (**self).describe_state(state)
    }

    fn partition(&self, history: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        (**self).partition(history)
    }
}

/// `M` with its partitioning turned off: the history is checked whole. For measuring what
/// P-compositionality buys, and for checking a model's [`Model::partition`] against the
/// unpartitioned search; the verdict is the same either way.
#[derive(Clone, Copy, Debug)]
pub struct Whole<M>(pub M);

impl<M: Model> Model for Whole<M> {
    type State = M::State;
    type Input = M::Input;
    type Output = M::Output;

    fn init(&self) -> Self::State {
        self.0.init()
    }

    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State> {
        self.0.step(state, input, output)
    }

    fn is_read_only(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
        self.0.is_read_only(input, output)
    }

    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        self.0.describe_operation(input, output)
    }

    fn describe_state(&self, state: &Self::State) -> String {
        self.0.describe_state(state)
    }
}

/// A history of operations on `M`.
pub type History<M> = Vec<Operation<<M as Model>::Input, <M as Model>::Output>>;

/// A sequential specification: the object's states, and which operations are legal in
/// each state.
///
/// [`Model::step`] must be a pure function: the search calls it many times on the same
/// arguments and memoizes on its results.
pub trait Model: Sync {
    /// The object's state. Two states that compare equal must behave the same.
    type State: Clone + Eq + Hash + Debug + Send;
    /// An operation's input.
    type Input: Debug + Sync;
    /// An operation's output.
    type Output: Debug + Sync;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after applying `input` in `state` and observing `output`, or `None` if
    /// that observation is impossible in `state`. `output` is `None` when it is unknown.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Whether the operation never changes the state: in every state where it is legal,
    /// [`Model::step`] returns that same state. Reads are; a compare-and-set that observed
    /// a mismatch is. The search then need not try the orders that differ only in where
    /// such an operation took effect, which makes read-heavy histories much cheaper.
    ///
    /// Answering `true` for an operation that can change the state (a write of the value
    /// already there, say) can make the verdict wrong. The default, `false`, is always
    /// safe.
    fn is_read_only(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
        let _ = (input, output);
        false
    }

    /// How an operation reads in reports: what was asked and, if known, what came back.
    /// The default prints their `Debug` forms.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(output) => format!("{input:?} -> {output:?}"),
            None => format!("{input:?}"),
        }
    }

    /// How a state reads in reports. The default prints its `Debug` form.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }

    /// Splits a history into independent parts, as lists of indices into `history`. The
    /// default keeps the history whole. A history is linearizable if and only if every
    /// part is, so a model must only split operations that never interact.
    fn partition(&self, history: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..history.len()).collect()]
    }
}
