//! A layer that passes every call through, except that it traps (a bug in
//! the provider, as far as the host can tell) when the app connects to
//! port 9. The tests use it to show that a trap inside a provider ends
//! that instance alone.

use wasock::provider::{ErrorCode, Lower, Socket, SocketAddress};

/// A socket of the layer below, passed through.
struct Faulty(Lower);

impl Socket for Faulty {
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
}

wasock::export_provider!(Faulty);
