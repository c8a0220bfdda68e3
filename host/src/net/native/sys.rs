//! The few system calls socket2 and tokio do not wrap.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};

use crate::net::types::Readiness;

#[cfg(test)]
thread_local! {
    /// `poll_now` calls made on this thread, for tests that a wait made
    /// none.
    pub static POLLS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// `recv_inq` calls made on this thread, for tests of which receives
    /// learn what they leave.
    pub static INQ_RECEIVES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Wait up to `timeout` (in whole milliseconds, rounded down) for
/// `events` (`POLLIN`, `POLLOUT`) on `fd`: whether `poll()` reported
/// anything for it (an error or a hang-up counts, since the next call
/// reports them). `false` on a timeout or when a signal interrupted the
/// wait.
pub fn poll_for(fd: RawFd, events: i16, timeout: std::time::Duration) -> bool {
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, count 1.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    n > 0
}

/// The readiness of one descriptor now (`poll()` with a zero timeout).
pub fn poll_now(fd: RawFd) -> Readiness {
    #[cfg(test)]
    POLLS.with(|n| n.set(n.get() + 1));
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN | libc::POLLOUT | libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, count 1, no waiting.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    if n <= 0 {
        return Readiness::EMPTY;
    }
    let mut r = Readiness::EMPTY;
    let ev = pfd.revents;
    if ev & libc::POLLIN != 0 {
        r |= Readiness::READABLE;
    }
    if ev & libc::POLLOUT != 0 {
        r |= Readiness::WRITABLE;
    }
    if ev & libc::POLLERR != 0 {
        r |= Readiness::ERROR;
    }
    if ev & libc::POLLHUP != 0
        || (ev & libc::POLLRDHUP != 0 && fionread(fd).map(|n| n == 0).unwrap_or(true))
    {
        r |= Readiness::HANG_UP;
    }
    r
}

/// Bytes queued for reading (`ioctl(FIONREAD)`); for a datagram socket,
/// the size of the next datagram.
pub fn fionread(fd: RawFd) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Dissolve a datagram socket's association (`connect()` to `AF_UNSPEC`).
pub fn disconnect(sock: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: an all-zero sockaddr with family AF_UNSPEC is valid input to
    // connect(2), which is how POSIX dissolves a datagram association.
    let mut addr: libc::sockaddr = unsafe { std::mem::zeroed() };
    addr.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
    let len = std::mem::size_of::<libc::sockaddr>() as libc::socklen_t;
    let rc = unsafe { libc::connect(sock.as_raw_fd(), &addr, len) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        // Linux reports EAFNOSUPPORT on some kernels for an unconnected
        // socket; the association is dissolved either way.
        if e.raw_os_error() != Some(libc::EAFNOSUPPORT) {
            return Err(e);
        }
    }
    Ok(())
}

/// `setsockopt()` with an `int` value.
pub fn set_int(sock: &impl AsRawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: the option value is one c_int of the given size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `getsockopt()` with an `int` value.
pub fn get_int(sock: &impl AsRawFd, level: i32, name: i32) -> io::Result<i32> {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: the buffer is one c_int and `len` says so.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&mut value as *mut i32).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(value)
    }
}

/// `IP_MULTICAST_IF` by interface index (`struct ip_mreqn`).
pub fn set_multicast_if_v4(sock: &impl AsRawFd, index: u32) -> io::Result<()> {
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: i32::try_from(index)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?,
    };
    // SAFETY: the option value is one ip_mreqn of the given size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&mreqn as *const libc::ip_mreqn).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `recvmsg()` on a TCP socket with `TCP_INQ` set: the count received, and
/// how many bytes were still queued after them (`None` if the kernel
/// attached no count). Linux reports at least 1 left once the peer has
/// closed, so that the end of the stream is still read.
pub fn recv_inq(
    sock: &impl AsRawFd,
    buf: &mut [MaybeUninit<u8>],
    flags: i32,
) -> io::Result<(usize, Option<usize>)> {
    #[cfg(test)]
    INQ_RECEIVES.with(|n| n.set(n.get() + 1));
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for one control message carrying an int, 8-byte aligned.
    let mut control = [0u64; 4];
    // SAFETY: an all-zero msghdr is a valid empty one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: the one iovec covers `buf`, which recvmsg may write (not
    // read) in full; the control buffer is as long as msg says.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, flags) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut left = None;
    // SAFETY: the CMSG_* walk stays within the control buffer the kernel
    // filled (msg_controllen now says how much); the data of a TCP_CM_INQ
    // message is one int, read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_TCP && (*cmsg).cmsg_type == libc::TCP_CM_INQ {
                let v = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                left = usize::try_from(v).ok();
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n as usize, left))
}
