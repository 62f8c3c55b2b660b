//! The network lab ([`hearth_tests::netlab`]) does what NAT and partition
//! tests will rely on: a home host reaches the internet from its router's
//! public address, nothing on the internet can open a connection into a
//! home, and a cut link stops traffic until it is healed.
//!
//! Plain TCP, no hearth node: these check the lab, so that a failing NAT
//! test later means hearth, not the lab. Sockets are made inside the
//! namespaces ([`hearth_tests::netlab::Namespace::run`]) and used from the
//! test's runtime. Needs root, `ip` and `nft`: skipped with a printed line
//! without them, failed under CI (`CI=true`).

#![cfg(target_os = "linux")]

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hearth_tests::DEADLINE;
use hearth_tests::netlab::{Host, Lab, Namespace};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// How long something that must not happen is given to happen. Inside one
/// machine what can happen does within milliseconds, so a second is ample
/// to tell "blocked" from "slow".
const SHORT: Duration = Duration::from_secs(1);

/// A listener on `host`'s address, made inside its namespace.
fn listen(host: &Host) -> TcpListener {
    let addr = SocketAddr::from((host.addr, 0));
    let listener = host
        .ns
        .run(move || std::net::TcpListener::bind(addr))
        .expect("a thread in the namespace")
        .expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    TcpListener::from_std(listener).expect("a tokio listener")
}

/// A TCP connection from inside `ns` to `to`, given up after `within`.
async fn connect(ns: &Namespace, to: SocketAddr, within: Duration) -> io::Result<TcpStream> {
    let socket = ns
        .run(TcpSocket::new_v4)
        .expect("a thread in the namespace")?;
    match tokio::time::timeout(within, socket.connect(to)).await {
        Ok(connected) => connected,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no connection to {to} within {within:?}"),
        )),
    }
}

/// Accepts one connection within the deadline.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    tokio::time::timeout(DEADLINE, listener.accept())
        .await
        .expect("a connection within the deadline")
        .expect("accept")
}

/// Reads exactly `len` bytes within `within`, or `None`.
async fn read(stream: &mut TcpStream, len: usize, within: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0; len];
    match tokio::time::timeout(within, stream.read_exact(&mut buf)).await {
        Ok(Ok(_)) => Some(buf),
        Ok(Err(e)) => panic!("reading: {e}"),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_home_host_reaches_a_public_host_from_its_routers_address() {
    let Some(mut lab) = Lab::for_test("home_reaches_public") else {
        return;
    };
    let home = lab.add_home(1).expect("home 1");
    let public = lab.add_public_host().expect("a public host");
    let listener = listen(&public);
    let to = listener.local_addr().expect("listening");

    let mut client = connect(&home.host.ns, to, DEADLINE)
        .await
        .expect("home host connects out");
    let (mut server, from) = accept(&listener).await;
    assert_eq!(
        from.ip(),
        home.public_addr,
        "the connection comes from the router's public address, not {} behind it",
        home.host.addr
    );
    assert_eq!(
        client.local_addr().expect("bound").ip(),
        home.host.addr,
        "the home host sees its own LAN address"
    );

    // Both ways through the NAT.
    client.write_all(b"hello out").await.expect("write");
    assert_eq!(
        read(&mut server, 9, DEADLINE).await.as_deref(),
        Some(&b"hello out"[..])
    );
    server.write_all(b"hello back").await.expect("write");
    assert_eq!(
        read(&mut client, 10, DEADLINE).await.as_deref(),
        Some(&b"hello back"[..])
    );
}

#[tokio::test]
async fn nothing_on_the_internet_can_open_a_connection_into_a_home() {
    let Some(mut lab) = Lab::for_test("public_cannot_reach_home") else {
        return;
    };
    let home = lab.add_home(1).expect("home 1");
    let public = lab.add_public_host().expect("a public host");
    let listener = listen(&home.host);
    let port = listener.local_addr().expect("listening").port();
    let inside = SocketAddr::from((home.host.addr, port));

    // The listener is reachable on the LAN: from the router itself.
    connect(&home.router, inside, DEADLINE)
        .await
        .expect("the router reaches the home host");
    accept(&listener).await;

    // Nothing is forwarded from the router's public address.
    let err = connect(
        &public.ns,
        SocketAddr::from((home.public_addr, port)),
        SHORT,
    )
    .await
    .expect_err("no port is forwarded");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

    // Even a public host that routes the home's LAN through the router, as
    // a hostile neighbour on the same segment could, gets nowhere: the
    // router forwards inbound packets only for connections the home opened.
    let lan = format!("198.19.{}.0/24", home.n);
    public
        .ns
        .ip(&["route", "add", &lan, "via", &home.public_addr.to_string()])
        .expect("a route into the home");
    let err = connect(&public.ns, inside, SHORT)
        .await
        .expect_err("the router's firewall drops it");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::TimedOut
                | io::ErrorKind::ConnectionRefused
                | io::ErrorKind::HostUnreachable
        ),
        "{err}"
    );
    assert!(
        tokio::time::timeout(Duration::ZERO, listener.accept())
            .await
            .is_err(),
        "nothing reached the home host"
    );
}

#[tokio::test]
async fn a_cut_link_stops_traffic_and_healing_it_restores_it() {
    let Some(mut lab) = Lab::for_test("cut_and_heal") else {
        return;
    };
    let home = lab.add_home(1).expect("home 1");
    let public = lab.add_public_host().expect("a public host");
    let listener = listen(&public);
    let to = listener.local_addr().expect("listening");
    let mut client = connect(&home.host.ns, to, DEADLINE)
        .await
        .expect("home host connects out");
    let (mut server, _) = accept(&listener).await;
    client.write_all(b"before").await.expect("write");
    assert_eq!(
        read(&mut server, 6, DEADLINE).await.as_deref(),
        Some(&b"before"[..])
    );

    home.uplink.cut().expect("cut the home's uplink");
    client.write_all(b"during").await.expect("write");
    let err = connect(&home.host.ns, to, SHORT)
        .await
        .expect_err("no new connection across a cut link");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::HostUnreachable
        ),
        "{err}"
    );
    assert_eq!(
        read(&mut server, 6, SHORT).await,
        None,
        "nothing crosses a cut link"
    );

    home.uplink.heal().expect("heal the home's uplink");
    // TCP retransmits what was sent during the cut, on the same connection.
    assert_eq!(
        read(&mut server, 6, DEADLINE).await.as_deref(),
        Some(&b"during"[..])
    );
    let mut again = connect(&home.host.ns, to, DEADLINE)
        .await
        .expect("a new connection after healing");
    let (mut accepted, _) = accept(&listener).await;
    again.write_all(b"after").await.expect("write");
    assert_eq!(
        read(&mut accepted, 5, DEADLINE).await.as_deref(),
        Some(&b"after"[..])
    );
}

/// The namespaces of the machine whose names start with `prefix`.
fn namespaces_named(prefix: &str) -> Vec<String> {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    assert!(out.status.success(), "ip netns list: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_lab_deletes_its_namespaces_when_dropped_also_on_a_panic() {
    let Some(mut lab) = Lab::for_test("cleanup") else {
        return;
    };
    lab.add_home(1).expect("home 1");
    lab.add_public_host().expect("a public host");
    let prefix = format!("{}-", lab.prefix());
    assert_eq!(
        namespaces_named(&prefix).len(),
        4,
        "internet, router, home host and public host"
    );
    drop(lab);
    assert_eq!(namespaces_named(&prefix), Vec::<String>::new());

    let made = std::sync::Mutex::new(String::new());
    let failed = std::panic::catch_unwind(|| {
        let mut lab = Lab::new("cleanup-on-panic").expect("a lab");
        *made.lock().expect("not poisoned") = format!("{}-", lab.prefix());
        lab.add_home(2).expect("home 2");
        panic!("a test fails with its lab built");
    });
    assert!(failed.is_err());
    let prefix = made.into_inner().expect("not poisoned");
    assert!(!prefix.is_empty());
    assert_eq!(namespaces_named(&prefix), Vec::<String>::new());
}
