//! Wrapping a model without losing its properties.
//!
//! A stateright `Property` holds a plain function pointer over the model type, which
//! cannot capture the wrapped model's property. So a wrapper forwards its `I`th property
//! through a function monomorphised per index, `forward::<W, I>`, for up to [`FORWARDED`]
//! properties. [`coverage::Counted`](crate::coverage::Counted) and the `check` binary's
//! Explorer wrapper share this.

use crate::Checkable;
use stateright::{Model, Property};
use std::fmt;

/// A model that wraps another, with the same states, and can evaluate its properties.
pub trait Wrapper: Model<State = <Self::Inner as Model>::State> + Sized {
    /// The wrapped model.
    type Inner: Checkable;
    /// The wrapped model.
    fn inner(&self) -> &Self::Inner;
    /// The wrapped model's properties, in its order (at most [`FORWARDED`]).
    fn inner_properties(&self) -> &[Property<Self::Inner>];
}

/// How many properties a wrapper can forward.
pub const FORWARDED: usize = 32;

/// A model with more properties than a wrapper can forward: how many it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyProperties(pub usize);

impl fmt::Display for TooManyProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a wrapped model forwards at most {FORWARDED} properties; this model has {}",
            self.0
        )
    }
}

impl std::error::Error for TooManyProperties {}

/// Refuses a model with more properties than a wrapper can forward.
///
/// # Errors
/// [`TooManyProperties`] if there are more than [`FORWARDED`].
pub fn check_forwardable<M: Model>(properties: &[Property<M>]) -> Result<(), TooManyProperties> {
    if properties.len() > FORWARDED {
        return Err(TooManyProperties(properties.len()));
    }
    Ok(())
}

/// The wrapper's properties: the wrapped model's, same names, expectations and order.
pub fn forwarded<W: Wrapper>(w: &W) -> Vec<Property<W>> {
    w.inner_properties()
        .iter()
        .enumerate()
        .map(|(i, p)| Property {
            expectation: p.expectation.clone(),
            name: p.name,
            condition: forwarder::<W>(i),
        })
        .collect()
}

/// Evaluates the wrapped model's `I`th property.
fn forward<W: Wrapper, const I: usize>(w: &W, s: &W::State) -> bool {
    (w.inner_properties()[I].condition)(w.inner(), s)
}

macro_rules! forwarders {
    ($i:expr, $($n:literal)*) => {
        match $i {
            $($n => forward::<W, $n>,)*
            _ => unreachable!("check_forwardable refuses models with more properties"),
        }
    };
}

fn forwarder<W: Wrapper>(i: usize) -> fn(&W, &W::State) -> bool {
    forwarders!(i, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31)
}
