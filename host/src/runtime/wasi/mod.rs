//! Standard WASI for guests, with wasi:sockets held to wasock's policy:
//! addresses through wasmtime-wasi's address check ([`guard`]), names
//! through wasock's own `wasi:sockets/ip-name-lookup` ([`lookup`]).

mod guard;
mod link;
mod lookup;

pub(crate) use guard::guard_wasi_sockets;
pub use guard::operation_for;
pub use link::add_wasi_to_linker;
pub use lookup::ResolveAddressStream;
