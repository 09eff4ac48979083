//! TCP-AO wrapper tests on loopback. Where the kernel lacks TCP-AO the
//! tests that need it check that the error says so and print why they did
//! not run the rest.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use super::*;

const LO: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn key(send_id: u8, recv_id: u8, secret: &str) -> AoKey {
    AoKey {
        send_id,
        recv_id,
        algorithm: AoAlgorithm::HmacSha256,
        secret: secret.as_bytes().to_vec(),
    }
}

/// False (after checking the error says so) when the kernel has no TCP-AO.
fn kernel_has_ao(test: &str) -> bool {
    match supported() {
        Ok(()) => true,
        Err(AoError::Unsupported(_)) => {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            let e = add_key(&s, LO, &key(1, 1, "k"), false).unwrap_err();
            assert!(matches!(e, AoError::Unsupported(_)), "{e:?}");
            assert!(e.to_string().contains("does not support TCP-AO"), "{e}");
            assert!(matches!(info(&s), Err(AoError::Unsupported(_))));
            assert!(matches!(
                set_current(&s, Some(1), None),
                Err(AoError::Unsupported(_))
            ));
            eprintln!("{test}: skipped the connection checks: this kernel has no TCP-AO ({e})");
            false
        }
        Err(e) => panic!("probing TCP-AO: {e}"),
    }
}

fn listener(keys: &[AoKey]) -> (Socket, SocketAddr) {
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    for k in keys {
        add_key(&l, LO, k, false).unwrap();
    }
    l.bind(&SocketAddr::new(LO, 0).into()).unwrap();
    l.listen(8).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    (l, addr)
}

fn connect(to: SocketAddr, keys: &[AoKey], current: u8) -> std::io::Result<TcpStream> {
    let c = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    for k in keys {
        add_key(&c, LO, k, k.send_id == current)?;
    }
    c.connect_timeout(&to.into(), Duration::from_secs(3))?;
    Ok(c.into())
}

fn ping(a: &mut TcpStream, b: &mut TcpStream) {
    a.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    b.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    a.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    b.write_all(b"pong").unwrap();
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pong");
}

#[test]
fn struct_layout_and_names() {
    assert_eq!(
        AoAlgorithm::parse("hmac(sha1)"),
        Some(AoAlgorithm::HmacSha1)
    );
    assert_eq!(
        AoAlgorithm::parse("cmac(aes128)"),
        Some(AoAlgorithm::CmacAes128)
    );
    assert_eq!(AoAlgorithm::parse("hmac(md5)"), None);
    for a in [
        AoAlgorithm::HmacSha1,
        AoAlgorithm::HmacSha256,
        AoAlgorithm::CmacAes128,
    ] {
        assert!(a.kernel_name().len() < ALG_NAME_LEN);
        assert_eq!(AoAlgorithm::parse(a.kernel_name()), Some(a));
    }
    // Field offsets of include/uapi/linux/tcp.h.
    assert_eq!(mem::offset_of!(TcpAoAdd, alg_name), 128);
    assert_eq!(mem::offset_of!(TcpAoAdd, ifindex), 192);
    assert_eq!(mem::offset_of!(TcpAoAdd, prefix), 202);
    assert_eq!(mem::offset_of!(TcpAoAdd, keylen), 207);
    assert_eq!(mem::offset_of!(TcpAoAdd, key), 208);
    assert_eq!(mem::offset_of!(TcpAoDel, prefix), 138);
    assert_eq!(mem::offset_of!(TcpAoDel, keyflags), 143);
    assert_eq!(mem::offset_of!(TcpAoInfoOpt, current_key), 6);
    assert_eq!(mem::offset_of!(TcpAoInfoOpt, pkt_good), 8);
    assert_eq!(mem::offset_of!(TcpAoInfoOpt, pkt_dropped_icmp), 40);
    // The secret never shows in Debug.
    assert_eq!(
        format!("{:?}", key(3, 4, "hunter2")),
        "AoKey(send 3, recv 4, hmac(sha256), <7 bytes>)"
    );
}

#[test]
fn bad_key_lengths_are_refused_before_the_kernel() {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let mut k = key(1, 1, "");
    assert!(matches!(
        add_key(&s, LO, &k, false),
        Err(AoError::InvalidKey(_))
    ));
    k.secret = vec![b'x'; AO_MAX_KEY + 1];
    assert!(matches!(
        add_key(&s, LO, &k, false),
        Err(AoError::InvalidKey(_))
    ));
}

#[test]
fn matching_keys_connect_and_count_good_segments() {
    if !kernel_has_ao("matching_keys_connect_and_count_good_segments") {
        return;
    }
    let k = key(7, 7, "matching secret");
    let (l, addr) = listener(std::slice::from_ref(&k));
    let mut c = connect(addr, std::slice::from_ref(&k), 7).unwrap();
    let (s, _) = l.accept().unwrap();
    let mut s: TcpStream = s.into();
    ping(&mut c, &mut s);
    let ic = info(&c).unwrap();
    let is = info(&s).unwrap();
    assert_eq!(ic.current_key, Some(7));
    assert!(ic.good > 0 && is.good > 0, "{ic:?} {is:?}");
    assert_eq!((ic.bad, is.bad), (0, 0));
}

#[test]
fn wrong_key_never_connects_and_counts_bad_segments() {
    if !kernel_has_ao("wrong_key_never_connects_and_counts_bad_segments") {
        return;
    }
    let (l, addr) = listener(&[key(1, 1, "right secret")]);
    let r = connect(addr, &[key(1, 1, "wrong secret")], 1);
    assert!(r.is_err(), "connected with the wrong TCP-AO key");
    let il = info(&l).unwrap();
    assert!(il.bad > 0, "{il:?}");
    // A KeyID the listener has no key for.
    let r = connect(addr, &[key(9, 9, "right secret")], 9);
    assert!(r.is_err(), "connected with an unknown TCP-AO key id");
    assert!(info(&l).unwrap().key_not_found > 0);
}

#[test]
fn key_rollover_keeps_the_connection() {
    if !kernel_has_ao("key_rollover_keeps_the_connection") {
        return;
    }
    let old = key(1, 1, "old secret");
    let new = key(2, 2, "new secret");
    let (l, addr) = listener(std::slice::from_ref(&old));
    let mut c = connect(addr, std::slice::from_ref(&old), 1).unwrap();
    let (s, _) = l.accept().unwrap();
    let mut s: TcpStream = s.into();
    ping(&mut c, &mut s);
    // Both ends get the new key, then switch to it, then drop the old one.
    add_key(&c, LO, &new, false).unwrap();
    add_key(&s, LO, &new, false).unwrap();
    set_current(&c, Some(2), Some(2)).unwrap();
    set_current(&s, Some(2), Some(2)).unwrap();
    ping(&mut c, &mut s);
    del_key(&c, LO, 1, 1).unwrap();
    del_key(&s, LO, 1, 1).unwrap();
    // Deleting again is fine.
    del_key(&s, LO, 1, 1).unwrap();
    let good = info(&s).unwrap().good;
    ping(&mut c, &mut s);
    let (ic, is) = (info(&c).unwrap(), info(&s).unwrap());
    assert_eq!((ic.current_key, is.current_key), (Some(2), Some(2)));
    assert!(is.good > good, "{is:?}");
    assert_eq!((ic.bad, is.bad), (0, 0));
}

#[test]
fn cli_key_syntax() {
    let k: AoKey = "3:4:cmac(aes128):se:cr:et".parse().unwrap();
    assert_eq!((k.send_id, k.recv_id), (3, 4));
    assert_eq!(k.algorithm, AoAlgorithm::CmacAes128);
    assert_eq!(k.secret, b"se:cr:et");
    for bad in [
        "",
        "1",
        "1:2",
        "256:1:hmac(sha1):x",
        "1:x:hmac(sha1):x",
        "1:1:hmac(md5):x",
        "1:1:hmac(sha1):",
        "1:1:hmac(sha1)",
    ] {
        assert!(bad.parse::<AoKey>().is_err(), "{bad:?} accepted");
    }
    let long = format!("1:1:hmac(sha1):{}", "x".repeat(AO_MAX_KEY + 1));
    assert!(long.parse::<AoKey>().unwrap_err().contains("1 to 80"));
}
