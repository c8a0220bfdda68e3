//! The `poll` interface: wait on many sockets at once.

use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use super::bindings::wasock::sockets::poll::{Host, PollEntry};
use super::bindings::wasock::sockets::types::Readiness;
use super::clock::{spin, until};
use super::convert::{readiness_from_net, readiness_to_net};
use super::ctx::WasockCtxView;
use super::error::SocketResult;
use super::socket::GuestSocket;
use crate::net::{ErrorCode, Readiness as NetReadiness};

impl Host for WasockCtxView<'_> {
    async fn poll(
        &mut self,
        entries: Vec<PollEntry>,
        timeout: Option<u64>,
    ) -> SocketResult<Vec<Readiness>> {
        if entries.is_empty() && timeout.is_none() {
            return Err(ErrorCode::InvalidArgument.into());
        }
        if entries.len() > self.ctx.limits.max_poll_entries {
            return Err(ErrorCode::InvalidArgument.into());
        }
        // Resolve every handle first: an unknown one traps, whatever else
        // is ready.
        for e in &entries {
            self.table.get(&e.socket)?;
        }
        let interests: Vec<NetReadiness> = entries
            .iter()
            .map(|e| readiness_to_net(e.interest))
            .collect();
        let clock = self.ctx.clock.clone();
        let deadline = timeout.and_then(|ns| clock.now().checked_add(Duration::from_nanos(ns)));
        loop {
            // Truth first: what holds now, with the runtime's filters applied.
            let mut any = false;
            let mut out = Vec::with_capacity(entries.len());
            for (e, interest) in entries.iter().zip(&interests) {
                let sock = self.table.get_mut(&e.socket)?;
                sock.net.prepare_wait(*interest)?;
                let now = sock.readiness(&self.ctx.gate).and(interest.wakes_on());
                any |= !now.is_empty();
                out.push(readiness_from_net(now));
            }
            if any {
                return Ok(out);
            }
            if timeout == Some(0) {
                spin(&*clock).await;
                return Ok(out);
            }
            if deadline.is_some_and(|d| clock.now() >= d) {
                return Ok(out);
            }
            // Nothing holds: wait for any socket to change, then look again.
            let socks: Vec<(&GuestSocket, NetReadiness)> = entries
                .iter()
                .zip(&interests)
                .map(|(e, i)| Ok((self.table.get(&e.socket)?, *i)))
                .collect::<SocketResult<_>>()?;
            // A connection kept for the next accept wakes only a readable
            // interest: it is the one thing it makes true, and waking for it
            // otherwise would find nothing, and loop without ever waiting.
            let changed = poll_fn(|cx| {
                let mut ready = false;
                for (sock, interest) in &socks {
                    let kept =
                        sock.pending_accept.is_some() && interest.contains(NetReadiness::READABLE);
                    if kept || sock.net.poll_ready(cx, *interest).is_ready() {
                        ready = true;
                    }
                }
                if ready {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            });
            if until(&*clock, deadline, changed).await.is_err() {
                return Ok(out);
            }
        }
    }
}
