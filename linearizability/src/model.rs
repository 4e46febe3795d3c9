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

    fn describe_refusal(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> String {
        (**self).describe_refusal(state, input, output)
    }

    fn partition(&self, history: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        (**self).partition(history)
    }

    fn describe_partition(
        &self,
        history: &[Operation<Self::Input, Self::Output>],
        part: &[usize],
    ) -> String {
        (**self).describe_partition(history, part)
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

    fn describe_refusal(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> String {
        self.0.describe_refusal(state, input, output)
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

    /// Why [`Model::step`] refuses an operation in `state`, in a few words for a report
    /// that has already shown the state: `this read returned 2`. Called only to explain a
    /// failure, with an operation `step` refused. The default names the operation.
    fn describe_refusal(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> String {
        let _ = state;
        format!(
            "{} is not possible in that state",
            self.describe_operation(input, output)
        )
    }

    /// Splits a history into independent parts, as lists of indices into `history`. The
    /// default keeps the history whole. A history is linearizable if and only if every
    /// part is, so a model must only split operations that never interact.
    fn partition(&self, history: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..history.len()).collect()]
    }

    /// How a part returned by [`Model::partition`] reads in reports and on the page's
    /// partition selector: `key "k3"`. The default, for models that do not partition, is
    /// `the whole history`.
    fn describe_partition(
        &self,
        history: &[Operation<Self::Input, Self::Output>],
        part: &[usize],
    ) -> String {
        let _ = (history, part);
        "the whole history".to_string()
    }
}
