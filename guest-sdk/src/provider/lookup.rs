//! The `name-lookup.lookup` resource a provider returns.

use super::{ErrorCode, IpAddress};
use crate::raw::wasock::sockets::name_lookup;

/// A name lookup under way in a provider: either the layer below's, passed
/// through, or an answer the provider already has.
pub struct Lookup(State);

enum State {
    Below(name_lookup::Lookup),
    Ready(Result<Vec<IpAddress>, ErrorCode>),
}

impl Lookup {
    /// A lookup of the layer below, answered as it answers.
    pub fn below(lookup: name_lookup::Lookup) -> Lookup {
        Lookup(State::Below(lookup))
    }

    /// A lookup whose answer is already known (a provider that resolves
    /// synchronously, or answers from a table).
    pub fn ready(answer: Result<Vec<IpAddress>, ErrorCode>) -> Lookup {
        Lookup(State::Ready(answer))
    }

    /// The answer, `None` until there is one. It stays until the lookup is
    /// dropped, as the WIT says.
    pub fn answer(&self) -> Option<Result<Vec<IpAddress>, ErrorCode>> {
        match &self.0 {
            State::Below(lookup) => lookup.answer(),
            State::Ready(answer) => Some(answer.clone()),
        }
    }
}
