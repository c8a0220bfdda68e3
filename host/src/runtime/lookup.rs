//! Name lookup, checked against the policy: the `name-lookup` interface,
//! and the one path every lookup takes (wasock's and WASI's).

use std::net::IpAddr;

use super::bindings::wasock::sockets::name_lookup::Host;
use super::bindings::wasock::sockets::types::{AddressFamily, IpAddress};
use super::convert::ip_from_std;
use super::ctx::{WasockCtx, WasockCtxView};
use super::error::SocketResult;
use crate::net::{BoxFuture, ErrorCode};
use crate::policy::{NameError, normalize_name};

/// Most resolver lookups one instance may have under way at once. A guest
/// on wasi:sockets can start lookups without waiting for any; each holds a
/// thread of the host's blocking pool (shared by every instance) until the
/// system resolver answers, whether or not the guest still wants it. Past
/// the limit a lookup fails with `temporary-resolver-failure` (`EAI_AGAIN`:
/// try again later).
pub(crate) const MAX_LOOKUPS_IN_FLIGHT: usize = 16;

/// A lookup under way: answered at once (IP literals, pinned names) or by
/// the provider's resolver.
pub(crate) enum Lookup {
    Ready(Vec<IpAddr>),
    Pending(BoxFuture<Result<Vec<IpAddr>, ErrorCode>>),
}

impl Lookup {
    pub(crate) async fn finish(self) -> Result<Vec<IpAddr>, ErrorCode> {
        match self {
            Lookup::Ready(ips) => Ok(ips),
            Lookup::Pending(f) => f.await,
        }
    }
}

/// Check `name` and start resolving it. IP literals (bracketed or not)
/// resolve to themselves without a grant; names must be valid, never a
/// numeric IPv4 spelling, and granted by the policy. The answer is recorded
/// in the instance's name table.
pub(crate) fn start_lookup(ctx: &WasockCtx, name: &str) -> Result<Lookup, ErrorCode> {
    let literal = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(Lookup::Ready(vec![ip]));
    }
    let name = match normalize_name(name) {
        Ok(n) => n,
        Err(NameError::NumericAddress) => {
            tracing::warn!(
                target: "wasock::policy",
                instance = %ctx.id,
                name = %name,
                "refused to resolve a numeric IPv4 spelling as a name; use the dotted-quad address"
            );
            return Err(ErrorCode::InvalidArgument);
        }
        Err(_) => return Err(ErrorCode::InvalidArgument),
    };
    ctx.record(&ctx.gate.policy.check_name(&name))?;
    if let Some(ips) = ctx.pinned.get(&name) {
        ctx.remember(&name, ips);
        return Ok(Lookup::Ready(ips.clone()));
    }
    let Ok(in_flight) = ctx.lookups.clone().try_acquire_owned() else {
        tracing::warn!(
            target: "wasock::limits",
            instance = %ctx.id,
            name = %name,
            "{MAX_LOOKUPS_IN_FLIGHT} name lookups are already under way; this one fails for now"
        );
        return Err(ErrorCode::TemporaryResolverFailure);
    };
    let answer = ctx.provider.resolve(&name);
    let gate = ctx.gate.clone();
    Ok(Lookup::Pending(Box::pin(async move {
        let ips = answer.await;
        drop(in_flight);
        let ips = ips?;
        gate.remember(&name, &ips);
        Ok(ips)
    })))
}

fn family_matches(ip: &IpAddr, family: Option<AddressFamily>) -> bool {
    match family {
        None => true,
        Some(AddressFamily::Ipv4) => ip.is_ipv4(),
        Some(AddressFamily::Ipv6) => ip.is_ipv6(),
    }
}

impl Host for WasockCtxView<'_> {
    async fn resolve_addresses(
        &mut self,
        name: String,
        family: Option<AddressFamily>,
    ) -> SocketResult<Vec<IpAddress>> {
        let ips = start_lookup(self.ctx, &name)?.finish().await?;
        let ips: Vec<IpAddress> = ips
            .into_iter()
            .filter(|ip| family_matches(ip, family))
            .map(ip_from_std)
            .collect();
        if ips.is_empty() {
            return Err(ErrorCode::NameNotFound.into());
        }
        Ok(ips)
    }
}
