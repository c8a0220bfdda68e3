//! One simulated socket: the provider contract over the core's socket
//! operations, with waits woken by the network's changes.

use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll};

use super::SimNet;
use super::core::SockId;
use crate::net::{
    ConnectState, ErrorCode, Family, NetSocket, OptionName, Readiness, RecvBuf, RecvFlags,
    RecvMeta, SendFlags, Shutdown, SockOption, SocketType, recv_into_initialised,
};

/// A socket of the simulated provider. Dropping it closes it, as the
/// system does when a descriptor is closed.
pub struct SimSocket {
    pub(super) net: SimNet,
    pub(super) id: SockId,
    pub(super) family: Family,
    pub(super) socket_type: SocketType,
}

impl std::fmt::Debug for SimSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimSocket").field("id", &self.id).finish()
    }
}

impl SimSocket {
    fn accepted(&self, id: SockId) -> SimSocket {
        SimSocket {
            net: self.net.clone(),
            id,
            family: self.family,
            socket_type: self.socket_type,
        }
    }
}

impl Drop for SimSocket {
    fn drop(&mut self) {
        let id = self.id;
        self.net.with(|n| n.close(id));
        self.net.forget(id);
    }
}

impl NetSocket for SimSocket {
    fn family(&self) -> Family {
        self.family
    }

    fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    fn bind(&mut self, addr: SocketAddr) -> Result<(), ErrorCode> {
        self.net.with(|n| n.bind(self.id, addr))
    }

    fn listen(&mut self, backlog: u32) -> Result<(), ErrorCode> {
        self.net.with(|n| n.listen(self.id, backlog))
    }

    fn try_accept(&mut self) -> Result<(Box<dyn NetSocket>, SocketAddr), ErrorCode> {
        let (id, peer) = self.net.with(|n| n.accept(self.id))?;
        Ok((Box::new(self.accepted(id)), peer))
    }

    fn start_connect(&mut self, addr: SocketAddr) -> Result<ConnectState, ErrorCode> {
        self.net.with(|n| n.connect(self.id, addr))
    }

    fn connect_state(&mut self) -> Result<ConnectState, ErrorCode> {
        self.net.with(|n| n.connect_state(self.id))
    }

    fn disconnect(&mut self) -> Result<(), ErrorCode> {
        self.net.with(|n| n.disconnect(self.id))
    }

    fn try_send(&mut self, data: &[u8], _flags: SendFlags) -> Result<usize, ErrorCode> {
        self.net.with(|n| n.send(self.id, data))
    }

    fn try_recv(&mut self, buf: &mut RecvBuf<'_>, flags: RecvFlags) -> Result<(), ErrorCode> {
        let mut got = Vec::new();
        let max = buf.remaining();
        self.net
            .with(|n| n.recv(self.id, &mut got, max, flags.peek))?;
        buf.put(&got);
        Ok(())
    }

    fn try_recv_into(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, ErrorCode> {
        // SAFETY: `try_recv` above fills the buffer only with `put`.
        unsafe { recv_into_initialised(buf, |room| self.try_recv(room, flags)) }
    }

    fn try_send_to(
        &mut self,
        data: &[u8],
        addr: SocketAddr,
        _flags: SendFlags,
    ) -> Result<usize, ErrorCode> {
        self.net.with(|n| n.send_to(self.id, data, addr))
    }

    fn try_recv_from(
        &mut self,
        buf: &mut RecvBuf<'_>,
        flags: RecvFlags,
    ) -> Result<RecvMeta, ErrorCode> {
        let mut got = Vec::new();
        let max = buf.remaining();
        let (from, truncated) = self
            .net
            .with(|n| n.recv_from(self.id, &mut got, max, flags.peek))?;
        buf.put(&got);
        Ok(RecvMeta { from, truncated })
    }

    fn shutdown(&mut self, how: Shutdown) -> Result<(), ErrorCode> {
        self.net.with(|n| n.shutdown(self.id, how))
    }

    fn local_addr(&self) -> Result<SocketAddr, ErrorCode> {
        self.net.with(|n| n.local_addr(self.id))
    }

    fn peer_addr(&self) -> Result<SocketAddr, ErrorCode> {
        self.net.with(|n| n.peer_addr(self.id))
    }

    fn bytes_available(&self) -> Result<usize, ErrorCode> {
        self.net.with(|n| n.bytes_available(self.id))
    }

    fn set_option(&mut self, option: SockOption) -> Result<(), ErrorCode> {
        self.net.with(|n| n.set_option(self.id, option))
    }

    fn get_option(&self, name: OptionName) -> Result<SockOption, ErrorCode> {
        self.net.with(|n| n.get_option(self.id, name))
    }

    fn join_multicast(&mut self, group: IpAddr, interface: u32) -> Result<(), ErrorCode> {
        self.net
            .with(|n| n.join_multicast(self.id, group, interface))
    }

    fn leave_multicast(&mut self, group: IpAddr, interface: u32) -> Result<(), ErrorCode> {
        self.net
            .with(|n| n.leave_multicast(self.id, group, interface))
    }

    fn take_error(&mut self) -> Result<Option<ErrorCode>, ErrorCode> {
        self.net.with(|n| n.take_error(self.id))
    }

    fn readiness(&self) -> Readiness {
        self.net.with(|n| n.readiness(self.id))
    }

    fn poll_ready(&self, cx: &mut Context<'_>, interest: Readiness) -> Poll<Readiness> {
        self.net.poll_socket(self.id, cx, interest.wakes_on())
    }
}

#[cfg(test)]
mod tests {
    use std::task::{Context, Waker};

    use super::*;
    use crate::net::sim::{LinkConfig, Network};

    /// A socket closed while a task waits on it leaves no waiter behind.
    #[tokio::test(start_paused = true)]
    async fn a_closed_socket_leaves_no_waiter_behind() {
        let mut net = Network::new(1, LinkConfig::default());
        let host = net.add_host("h", &["10.0.0.1".parse().unwrap()]).unwrap();
        let sim = SimNet::start(net);
        for _ in 0..3 {
            let id = sim
                .with(|n| n.open(host, Family::Ipv4, SocketType::Datagram))
                .unwrap();
            let sock = SimSocket {
                net: sim.clone(),
                id,
                family: Family::Ipv4,
                socket_type: SocketType::Datagram,
            };
            let mut cx = Context::from_waker(Waker::noop());
            assert!(
                sim.poll_socket(id, &mut cx, Readiness::READABLE)
                    .is_pending()
            );
            assert_eq!(sim.waiting_sockets(), 1);
            drop(sock);
            assert_eq!(sim.waiting_sockets(), 0);
        }
    }
}
