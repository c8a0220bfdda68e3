//! The `name-lookup.lookup` resource a provider returns.

use super::{ErrorCode, IpAddress};
use crate::raw::wasock::sockets::name_lookup;

/// Where a lookup's answer comes from. A trait object, so that a provider
/// that never passes lookups down does not link (and so import) the layer
/// below's lookup functions.
trait Answer {
    fn answer(&self) -> Option<Result<Vec<IpAddress>, ErrorCode>>;
}

impl Answer for name_lookup::Lookup {
    fn answer(&self) -> Option<Result<Vec<IpAddress>, ErrorCode>> {
        name_lookup::Lookup::answer(self)
    }
}

/// An answer known from the start.
struct Ready(Result<Vec<IpAddress>, ErrorCode>);

impl Answer for Ready {
    fn answer(&self) -> Option<Result<Vec<IpAddress>, ErrorCode>> {
        Some(self.0.clone())
    }
}

/// A name lookup under way in a provider: either the layer below's, passed
/// through, or an answer the provider already has.
pub struct Lookup(Box<dyn Answer>);

impl Lookup {
    /// A lookup of the layer below, answered as it answers.
    pub fn below(lookup: name_lookup::Lookup) -> Lookup {
        Lookup(Box::new(lookup))
    }

    /// A lookup whose answer is already known (a provider that resolves
    /// synchronously, or answers from a table).
    pub fn ready(answer: Result<Vec<IpAddress>, ErrorCode>) -> Lookup {
        Lookup(Box::new(Ready(answer)))
    }

    /// The answer, `None` until there is one. It stays until the lookup is
    /// dropped, as the WIT says.
    pub fn answer(&self) -> Option<Result<Vec<IpAddress>, ErrorCode>> {
        self.0.answer()
    }
}
