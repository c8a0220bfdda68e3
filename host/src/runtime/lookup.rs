//! Name lookup, checked against the policy: the `name-lookup` interface,
//! and the one path every lookup takes (wasock's and WASI's).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use wasmtime::component::Resource;

use super::bindings::wasock::sockets::name_lookup::{Host, HostLookup};
use super::bindings::wasock::sockets::types::{self as wit, AddressFamily, IpAddress};
use super::budget::Share;
use super::convert::{error_from_net, ip_from_std};
use super::ctx::{WasockCtx, WasockCtxView};
use super::denials::Limit;
use super::error::SocketResult;
use crate::net::{BoxFuture, ErrorCode};
use crate::policy::{NameError, ip_literal, normalize_name};

/// Most resolver lookups one instance may have under way at once. A guest
/// on wasi:sockets can start lookups without waiting for any; each holds a
/// thread of the host's blocking pool (shared by every instance) until the
/// system resolver answers, whether or not the guest still wants it. Past
/// the limit a lookup fails with `temporary-resolver-failure` (`EAI_AGAIN`:
/// try again later).
pub(crate) const MAX_LOOKUPS_IN_FLIGHT: usize = 16;

/// Most `lookup` resources one instance may hold at once (answered or
/// not): each is host memory until the guest drops it.
pub(crate) const MAX_LOOKUPS_ALIVE: u64 = 64;

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
    if let Some(ip) = ip_literal(name) {
        return Ok(Lookup::Ready(vec![ip]));
    }
    let name = match normalize_name(name) {
        Ok(n) => n,
        Err(NameError::NumericAddress | NameError::IpAddress) => {
            ctx.gate.log_numeric_spelling(name);
            return Err(ErrorCode::InvalidArgument);
        }
        Err(_) => return Err(ErrorCode::InvalidArgument),
    };
    ctx.record(&ctx.gate.policy.check_name(&name))?;
    if let Some(ips) = ctx.pinned.get(&name) {
        ctx.remember(&name, ips);
        return Ok(Lookup::Ready(ips.to_vec()));
    }
    let Ok(in_flight) = ctx.lookups.clone().try_acquire_owned() else {
        ctx.gate.warn_at_limit(
            Limit::LookupsInFlight,
            format_args!(
                "{MAX_LOOKUPS_IN_FLIGHT} name lookups are already under way; this one ({name}) fails for now"
            ),
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

/// The answer as the guest sees it: the family asked for, never empty.
fn answer_for(
    ips: Result<Vec<IpAddr>, ErrorCode>,
    family: Option<AddressFamily>,
) -> Result<Vec<IpAddress>, ErrorCode> {
    let ips: Vec<IpAddress> = ips?
        .into_iter()
        .filter(|ip| family_matches(ip, family))
        .map(ip_from_std)
        .collect();
    if ips.is_empty() {
        return Err(ErrorCode::NameNotFound);
    }
    Ok(ips)
}

impl Host for WasockCtxView<'_> {
    async fn resolve_addresses(
        &mut self,
        name: String,
        family: Option<AddressFamily>,
    ) -> SocketResult<Vec<IpAddress>> {
        let ips = start_lookup(self.ctx, &name)?.finish().await;
        Ok(answer_for(ips, family)?)
    }
}

/// A `lookup` resource: a lookup running on its own task while the guest
/// does other work, and its answer once there.
pub struct PendingLookup {
    state: LookupState,
    family: Option<AddressFamily>,
    /// Its place among the instance's `MAX_LOOKUPS_ALIVE`.
    _slot: Share,
}

enum LookupState {
    /// Dropping the handle detaches the task: the resolver runs to its end
    /// and holds its in-flight slot until then, as `start_lookup` says.
    Running(tokio::task::JoinHandle<Result<Vec<IpAddr>, ErrorCode>>),
    Done(Result<Vec<IpAddress>, ErrorCode>),
}

impl HostLookup for WasockCtxView<'_> {
    fn start(
        &mut self,
        name: String,
        family: Option<AddressFamily>,
    ) -> SocketResult<Resource<PendingLookup>> {
        let Some(slot) = self.ctx.lookups_alive.reserve(1) else {
            self.ctx.gate.warn_at_limit(
                Limit::LookupsAlive,
                format_args!("{MAX_LOOKUPS_ALIVE} lookups are alive; drop the answered ones"),
            );
            return Err(ErrorCode::TemporaryResolverFailure.into());
        };
        let state = match start_lookup(self.ctx, &name)? {
            Lookup::Ready(ips) => LookupState::Done(answer_for(Ok(ips), family)),
            Lookup::Pending(f) => LookupState::Running(tokio::spawn(f)),
        };
        Ok(self.table.push(PendingLookup {
            state,
            family,
            _slot: slot,
        })?)
    }

    fn answer(
        &mut self,
        this: Resource<PendingLookup>,
    ) -> wasmtime::Result<Option<Result<Vec<IpAddress>, wit::ErrorCode>>> {
        let lookup = self.table.get_mut(&this)?;
        if let LookupState::Running(task) = &mut lookup.state {
            let mut cx = Context::from_waker(Waker::noop());
            match Pin::new(task).poll(&mut cx) {
                Poll::Pending => return Ok(None),
                Poll::Ready(joined) => {
                    let ips = joined.unwrap_or(Err(ErrorCode::TemporaryResolverFailure));
                    lookup.state = LookupState::Done(answer_for(ips, lookup.family));
                }
            }
        }
        match &lookup.state {
            LookupState::Done(r) => Ok(Some(r.clone().map_err(error_from_net))),
            LookupState::Running(_) => Ok(None),
        }
    }

    fn drop(&mut self, rep: Resource<PendingLookup>) -> wasmtime::Result<()> {
        drop(self.table.delete(rep)?);
        Ok(())
    }
}
