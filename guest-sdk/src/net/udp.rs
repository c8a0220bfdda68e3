//! `UdpSocket`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use super::addr::{ToSocketAddrs, each_addr};
use super::options::{
    common_socket_methods, debug_socket, get_bool, get_u8, timeout_methods, ttl_u32,
};
use super::recv::recv_into;
use crate::addr::{family_of, from_std, ip_from_std, to_std};
use crate::bindings::wasock::sockets::socket::Socket;
use crate::bindings::wasock::sockets::types::{
    AddressFamily, OptionName, RecvFlags, SendFlags, SocketOption, SocketType,
};
use crate::error::{io, taken};

/// A UDP socket, as `std::net::UdpSocket`.
///
/// ```no_run
/// use wasock::net::UdpSocket;
/// let socket = UdpSocket::bind("127.0.0.1:0")?;
/// socket.send_to(b"ping", "127.0.0.1:9000")?;
/// let mut buf = [0; 1500];
/// let (n, from) = socket.recv_from(&mut buf)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    sock: Arc<Socket>,
}

common_socket_methods!(UdpSocket, "wasock::net::UdpSocket::bind(\"127.0.0.1:0\")?");
timeout_methods!(UdpSocket, "wasock::net::UdpSocket::bind(\"127.0.0.1:0\")?");

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_socket(f, "UdpSocket", &self.sock, true)
    }
}

/// What [`UdpSocket::recv_msg`] learned besides the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvMeta {
    /// Bytes copied into the buffer.
    pub len: usize,
    /// The sender.
    pub from: SocketAddr,
    /// The datagram was longer than the buffer; the rest is lost.
    pub truncated: bool,
}

impl UdpSocket {
    /// Bind to the first address that works.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| {
            let sock = io(Socket::open(family_of(&a), SocketType::Datagram))?;
            io(sock.bind(from_std(a)))?;
            Ok(UdpSocket {
                sock: Arc::new(sock),
            })
        })
    }

    /// A socket of `family` that is not bound yet (POSIX `socket()` with
    /// no `bind()`): its first [`send_to`](Self::send_to) or
    /// [`connect`](Self::connect) binds it to an ephemeral port of the
    /// unspecified address, which the `udp-send` grant for that peer
    /// covers. `bind("0.0.0.0:0")` asks for more: a `udp-bind` grant that
    /// names the unspecified address. std::net has no such constructor.
    ///
    /// ```no_run
    /// use wasock::net::{AddressFamily, UdpSocket};
    ///
    /// // Runs under `--allow udp-send=127.0.0.1:9000` alone.
    /// let socket = UdpSocket::unbound(AddressFamily::Ipv4)?;
    /// socket.send_to(b"ping", "127.0.0.1:9000")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unbound(family: AddressFamily) -> io::Result<UdpSocket> {
        io(Socket::open(family, SocketType::Datagram)).map(UdpSocket::from_socket)
    }

    /// Wrap a raw datagram socket.
    pub fn from_socket(sock: Socket) -> UdpSocket {
        UdpSocket {
            sock: Arc::new(sock),
        }
    }

    /// Receive one datagram, truncated to `buf` (the rest is discarded, as
    /// std does); see [`UdpSocket::recv_msg`] to learn that it was.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let mut buf = [0; 1500];
    /// let (n, from) = s.recv_from(&mut buf)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let m = self.recv_msg_flags(buf, RecvFlags::empty())?;
        Ok((m.len, m.from))
    }

    /// Receive one datagram without consuming it.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let mut buf = [0; 1500];
    /// let (n, from) = s.peek_from(&mut buf)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let m = self.recv_msg_flags(buf, RecvFlags::PEEK)?;
        Ok((m.len, m.from))
    }

    /// Receive one datagram and whether it was truncated.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let mut buf = [0; 512];
    /// let m = s.recv_msg(&mut buf)?;
    /// if m.truncated { eprintln!("{} sent more than 512 bytes", m.from); }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_msg(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        self.recv_msg_flags(buf, RecvFlags::empty())
    }

    fn recv_msg_flags(&self, buf: &mut [u8], flags: RecvFlags) -> io::Result<RecvMeta> {
        let d = io(self.sock.recv_from(buf.len() as u64, flags))?;
        let n = d.data.len().min(buf.len());
        buf[..n].copy_from_slice(&d.data[..n]);
        Ok(RecvMeta {
            len: n,
            from: to_std(d.remote_address),
            truncated: d.truncated,
        })
    }

    /// Send one datagram to the first address `addr` resolves to.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.send_to(b"ping", "127.0.0.1:9000")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let a = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to")
        })?;
        let n = io(self.sock.send_to(buf, from_std(a), SendFlags::empty()))?;
        Ok(taken(n, buf.len()))
    }

    /// Set the default peer: `send` goes there, and only its datagrams are
    /// received.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.connect("127.0.0.1:9000")?;
    /// s.send(b"ping")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(&addr, |a| io(self.sock.connect(from_std(a))))
    }

    /// Dissolve the default peer (wasock's addition to std's API).
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.connect("127.0.0.1:9000")?;
    /// s.disconnect()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn disconnect(&self) -> io::Result<()> {
        io(self.sock.disconnect())
    }

    /// The default peer.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.connect("127.0.0.1:9000")?;
    /// assert_eq!(s.peer_addr()?.port(), 9000);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(to_std(io(self.sock.remote_address())?))
    }

    /// Send one datagram to the default peer.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.connect("127.0.0.1:9000")?;
    /// s.send(b"ping")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        Ok(taken(
            io(self.sock.send(buf, SendFlags::empty()))?,
            buf.len(),
        ))
    }

    /// Receive one datagram from the default peer.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.connect("127.0.0.1:9000")?;
    /// let mut buf = [0; 1500];
    /// let n = s.recv(&mut buf)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_flags(buf, RecvFlags::empty())
    }

    /// Receive one datagram from the default peer without consuming it.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.connect("127.0.0.1:9000")?;
    /// let mut buf = [0; 1500];
    /// let n = s.peek(&mut buf)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_flags(buf, RecvFlags::PEEK)
    }

    fn recv_flags(&self, buf: &mut [u8], flags: RecvFlags) -> io::Result<usize> {
        io(recv_into(&self.sock, buf, flags))
    }

    /// Set `SO_BROADCAST`.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_broadcast(true)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        io(self.sock.set_option(SocketOption::Broadcast(on)))
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let on = s.broadcast()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        get_bool(&self.sock, OptionName::Broadcast)
    }

    /// Set multicast loopback (`IP_MULTICAST_LOOP` / `IPV6_MULTICAST_LOOP`,
    /// by the socket's family).
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_multicast_loop(false)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_multicast_loop(&self, on: bool) -> io::Result<()> {
        io(self.sock.set_option(SocketOption::MulticastLoop(on)))
    }

    /// Whether multicast loopback is on.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let on = s.multicast_loop()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn multicast_loop(&self) -> io::Result<bool> {
        get_bool(&self.sock, OptionName::MulticastLoop)
    }

    /// Set the multicast hop limit (1 to 255).
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_multicast_ttl(4)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_multicast_ttl(&self, ttl: u32) -> io::Result<()> {
        io(self
            .sock
            .set_option(SocketOption::MulticastHopLimit(ttl_u32(ttl)?)))
    }

    /// The multicast hop limit.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let ttl = s.multicast_ttl()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn multicast_ttl(&self) -> io::Result<u32> {
        get_u8(&self.sock, OptionName::MulticastHopLimit).map(u32::from)
    }

    /// std's name for [`UdpSocket::set_multicast_loop`] on an IPv4 socket
    /// (the option is the socket's, of its own family).
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_multicast_loop_v4(false)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.set_multicast_loop(on)
    }

    /// std's name for [`UdpSocket::multicast_loop`] on an IPv4 socket.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let on = s.multicast_loop_v4()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.multicast_loop()
    }

    /// std's name for [`UdpSocket::set_multicast_loop`] on an IPv6 socket.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("[::1]:0")?;
    /// s.set_multicast_loop_v6(false)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.set_multicast_loop(on)
    }

    /// std's name for [`UdpSocket::multicast_loop`] on an IPv6 socket.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("[::1]:0")?;
    /// let on = s.multicast_loop_v6()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.multicast_loop()
    }

    /// std's name for [`UdpSocket::set_multicast_ttl`] on an IPv4 socket.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_multicast_ttl_v4(4)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.set_multicast_ttl(ttl)
    }

    /// std's name for [`UdpSocket::multicast_ttl`] on an IPv4 socket.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let ttl = s.multicast_ttl_v4()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.multicast_ttl()
    }

    /// Join a multicast group on the interface with this index (0: the
    /// system's choice).
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.join_multicast("239.1.2.3".parse().unwrap(), 0)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_multicast(&self, group: IpAddr, interface_index: u32) -> io::Result<()> {
        io(self
            .sock
            .join_multicast_group(ip_from_std(group), interface_index))
    }

    /// Leave a multicast group.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.leave_multicast("239.1.2.3".parse().unwrap(), 0)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn leave_multicast(&self, group: IpAddr, interface_index: u32) -> io::Result<()> {
        io(self
            .sock
            .leave_multicast_group(ip_from_std(group), interface_index))
    }

    /// std's IPv4 join: only the unspecified interface (the system's choice)
    /// is supported, since wasock names interfaces by index.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.join_multicast_v4(&"239.1.2.3".parse().unwrap(), &std::net::Ipv4Addr::UNSPECIFIED)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.join_multicast(IpAddr::V4(*group), v4_interface(interface)?)
    }

    /// std's IPv6 join.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("[::]:0")?;
    /// s.join_multicast_v6(&"ff02::1234".parse().unwrap(), 0)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.join_multicast(IpAddr::V6(*group), interface)
    }

    /// std's IPv4 leave: only the unspecified interface (the system's
    /// choice), as for [`join_multicast_v4`](Self::join_multicast_v4).
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let group = "239.1.2.3".parse().unwrap();
    /// s.join_multicast_v4(&group, &std::net::Ipv4Addr::UNSPECIFIED)?;
    /// s.leave_multicast_v4(&group, &std::net::Ipv4Addr::UNSPECIFIED)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn leave_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.leave_multicast(IpAddr::V4(*group), v4_interface(interface)?)
    }

    /// std's IPv6 leave.
    ///
    /// ```no_run
    /// let s = wasock::net::UdpSocket::bind("[::]:0")?;
    /// let group = "ff02::1234".parse().unwrap();
    /// s.join_multicast_v6(&group, 0)?;
    /// s.leave_multicast_v6(&group, 0)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.leave_multicast(IpAddr::V6(*group), interface)
    }
}

/// The interface index for std's IPv4 multicast calls, which name the
/// interface by address: only the unspecified one (0, the system's choice)
/// has an index without asking the system.
fn v4_interface(interface: &Ipv4Addr) -> io::Result<u32> {
    if interface.is_unspecified() {
        Ok(0)
    } else {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "wasock names interfaces by index, not by address ({interface}): \
                 use join_multicast or leave_multicast with the index"
            ),
        ))
    }
}
