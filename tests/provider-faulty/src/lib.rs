//! A layer that passes every call through, except that it traps (a bug in
//! the provider, as far as the host can tell) when the app connects to
//! port 9. The tests use it to show that a trap inside a provider ends
//! that instance alone. Taking a connection `wasock serve` hands over, it
//! also checks the layer below keeps `handoff.wit`'s word: a second take
//! is `not-connected` (it traps otherwise).

use wasock::provider::{ErrorCode, Lower, Socket, SocketAddress, take_lower_connection};

/// A socket of the layer below, passed through.
struct Faulty(Lower);

impl Socket for Faulty {
    const READY_AS_BELOW: bool = true;

    fn lower(&self) -> Option<&Lower> {
        Some(&self.0)
    }

    fn wrap(lower: Lower) -> Result<Self, ErrorCode> {
        Ok(Faulty(lower))
    }

    fn connect(&self, remote: SocketAddress) -> Result<(), ErrorCode> {
        let port = wasock::addr::to_std(remote).port();
        assert_ne!(port, 9, "provider-faulty: connect to port 9");
        self.0.connect(remote)
    }

    fn take_connection() -> Result<(Self, SocketAddress), ErrorCode> {
        let (lower, peer) = take_lower_connection()?;
        let again = take_lower_connection().map(|_| ());
        assert_eq!(
            again,
            Err(ErrorCode::NotConnected),
            "provider-faulty: a second take of the hand-off"
        );
        Ok((Faulty(lower), peer))
    }
}

wasock::export_provider!(Faulty);
