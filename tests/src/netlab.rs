//! A network lab on one machine: real hosts, home routers doing NAT, and
//! cuttable links, each a Linux network namespace, for tests that need more
//! than loopback (discovery on a LAN, relays and hole punching behind NATs,
//! partitions).
//!
//! ```text
//!                 internet namespace: bridge br0, 198.18.0.0/24
//!        ┌──────────────┬───────────┴──┬───────────────┐
//!  public host 1   public host 2   router 1          router 2
//!  198.18.0.1      198.18.0.2      198.18.0.101      198.18.0.102
//!                                  NAT │ 198.19.1.1    NAT │ 198.19.2.1
//!                                  home host 1       home host 2
//!                                  198.19.1.2        198.19.2.2
//! ```
//!
//! Addresses come from 198.18.0.0/15 only (reserved for benchmarking), never
//! from the private ranges a real network uses. The namespaces are joined
//! only to each other: nothing is connected to the machine's own namespace,
//! so no packet of a test leaves the namespaces its [`Lab`] made.
//!
//! A [`Lab`] names its namespaces with a prefix unique to the test and the
//! process, and deletes every one of them when dropped, also when the test
//! panics. Building one needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), `ip`
//! (iproute2) and `nft` (nftables); [`Lab::for_test`] skips a test with a
//! printed line when they are missing, and fails it under CI.
//!
//! Code runs inside a namespace in two ways: a process through
//! `ip netns exec` ([`Namespace::command`], [`Namespace::tokio_command`]),
//! or a closure or a whole tokio runtime on a thread that entered the
//! namespace with `setns` ([`Namespace::run`], [`Namespace::spawn`],
//! [`Namespace::spawn_runtime`]). Sockets keep the namespace they were
//! made in, so a socket made by [`Namespace::run`] can be used from the
//! test's own runtime.

use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use nix::sched::{CloneFlags, setns};

use crate::skip_or_fail;

/// The "internet": the bridge every router and public host is plugged into.
pub const INTERNET_SUBNET: (Ipv4Addr, u8) = (Ipv4Addr::new(198, 18, 0, 0), 24);

/// The highest home number and the most public hosts one lab can have.
pub const MAX_HOSTS: u8 = 99;

/// Why the lab could not do something: the command that failed and what it
/// said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabError(String);

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LabError {}

/// Whether this machine can build a lab: `Ok`, or why not.
pub fn available() -> Result<(), String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err("not running as root: creating network namespaces needs root".into());
    }
    // Root in a container may lack the capabilities all the same.
    const CAP_NET_ADMIN: u32 = 12;
    const CAP_SYS_ADMIN: u32 = 21;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    for (cap, name) in [
        (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
        (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
    ] {
        if effective & (1 << cap) == 0 {
            return Err(format!(
                "root, but without {name}: cannot create network namespaces"
            ));
        }
    }
    for (tool, probe, package) in [("ip", "-V", "iproute2"), ("nft", "--version", "nftables")] {
        match Command::new(tool).arg(probe).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => return Err(format!("`{tool} {probe}` failed ({})", out.status)),
            Err(e) => return Err(format!("`{tool}` ({package}) is missing: {e}")),
        }
    }
    Ok(())
}

/// Runs `program` with `args` to completion, feeding it `input` on stdin;
/// the error names the command and carries its stderr.
fn run_tool(program: &str, args: &[&str], input: Option<&str>) -> Result<(), LabError> {
    let describe = || format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError(format!("{}: {e}", describe())))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| LabError(format!("{}: writing stdin: {e}", describe())))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| LabError(format!("{}: {e}", describe())))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(LabError(format!(
            "{} failed ({}): {}",
            describe(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn ip(args: &[&str]) -> Result<(), LabError> {
    run_tool("ip", args, None)
}

/// Moves the calling thread into the network namespace `name`.
fn enter(name: &str) -> Result<(), LabError> {
    let path = format!("/run/netns/{name}");
    let ns = File::open(&path).map_err(|e| LabError(format!("open {path}: {e}")))?;
    setns(&ns, CloneFlags::CLONE_NEWNET).map_err(|e| LabError(format!("setns {path}: {e}")))
}

/// One network namespace of a lab, by name. Cloning it copies the name; the
/// namespace itself lives until its [`Lab`] is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    name: String,
}

impl Namespace {
    /// The namespace's name, as `ip netns` knows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside this namespace
    /// (`ip netns exec NAME program`); add arguments and run it as usual.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// [`Namespace::command`] for tokio.
    pub fn tokio_command(&self, program: &str) -> tokio::process::Command {
        tokio::process::Command::from(self.command(program))
    }

    /// Runs `ip -n NAME args…`, for changes the lab has no helper for
    /// (a route, an address).
    pub fn ip(&self, args: &[&str]) -> Result<(), LabError> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// Runs `f` on a new thread inside this namespace and returns what it
    /// returns. For quick work, such as making a socket: a socket stays in
    /// the namespace it was made in wherever it is used afterwards. A panic
    /// in `f` is raised again here.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, LabError> {
        std::thread::scope(|scope| {
            let thread = std::thread::Builder::new()
                .name(format!("in {}", self.name))
                .spawn_scoped(scope, || enter(&self.name).map(|()| f()))
                .map_err(|e| LabError(format!("a thread for {}: {e}", self.name)))?;
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Runs `f` on a new thread inside this namespace and returns at once,
    /// once the thread is in the namespace.
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<NsThread<T>, LabError> {
        self.spawn_with(|| Ok(()), move |()| f())
    }

    /// Builds a current-thread tokio runtime (timers and I/O enabled) on a
    /// new thread inside this namespace and runs the future `make` returns
    /// on it, so every socket the future opens, now or later, is in the
    /// namespace. Returns once the runtime is built.
    pub fn spawn_runtime<F, Fut>(&self, make: F) -> Result<NsThread<Fut::Output>, LabError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future,
        Fut::Output: Send + 'static,
    {
        let name = self.name.clone();
        self.spawn_with(
            move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| LabError(format!("a runtime in {name}: {e}")))
            },
            move |runtime| runtime.block_on(make()),
        )
    }

    /// Spawns a thread that enters the namespace, runs `setup` there and
    /// reports how both went before it runs `body`.
    fn spawn_with<S, T>(
        &self,
        setup: impl FnOnce() -> Result<S, LabError> + Send + 'static,
        body: impl FnOnce(S) -> T + Send + 'static,
    ) -> Result<NsThread<T>, LabError>
    where
        T: Send + 'static,
    {
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let name = self.name.clone();
        let thread = std::thread::Builder::new()
            .name(format!("in {name}"))
            .spawn(move || match enter(&name).and_then(|()| setup()) {
                Ok(state) => {
                    let _ = ready_tx.send(Ok(()));
                    Some(body(state))
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    None
                }
            })
            .map_err(|e| LabError(format!("a thread for {}: {e}", self.name)))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(NsThread {
                thread,
                namespace: self.name.clone(),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                // The thread died before reporting: raise its panic here.
                match thread.join() {
                    Err(panic) => std::panic::resume_unwind(panic),
                    Ok(_) => Err(LabError(format!("the thread in {} ended early", self.name))),
                }
            }
        }
    }
}

/// A thread running inside a namespace, from [`Namespace::spawn`] or
/// [`Namespace::spawn_runtime`]. Dropping it detaches the thread; join it
/// to wait for its result (stop it first, for example by dropping a
/// channel its code waits on).
#[derive(Debug)]
pub struct NsThread<T> {
    thread: JoinHandle<Option<T>>,
    namespace: String,
}

impl<T: Send + 'static> NsThread<T> {
    /// Whether the thread has finished.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the thread and returns its result; a panic on the thread
    /// is raised again here. Blocks the calling thread.
    pub fn join(self) -> T {
        self.join_result()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// Waits for the thread like [`std::thread::JoinHandle::join`]: a panic
    /// on the thread comes back as `Err`, for a `Drop` that must not panic.
    pub fn join_result(self) -> std::thread::Result<T> {
        match self.thread.join()? {
            Some(value) => Ok(value),
            // Only a thread that failed to start returns None, and then no
            // NsThread is made.
            None => Err(Box::new(format!(
                "the thread in {} never started",
                self.namespace
            ))),
        }
    }

    /// [`NsThread::join`] without blocking the caller's runtime.
    pub async fn join_async(self) -> T {
        match tokio::task::spawn_blocking(move || self.join()).await {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("joining a namespace thread: {e}"),
        }
    }
}

/// One end of a cable that can be pulled: the switch-side or router-side
/// port of a veth pair. Setting it down stops every packet both ways at
/// once, as an unplugged cable does, without touching the addresses and
/// routes of the host behind it, so setting it up again restores the path
/// exactly; TCP connections that were open survive a short cut.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Link {
    namespace: String,
    device: String,
}

impl Link {
    /// Pulls the cable (`ip link set DEV down`).
    pub fn cut(&self) -> Result<(), LabError> {
        ip(&["-n", &self.namespace, "link", "set", &self.device, "down"])
    }

    /// Plugs it back in (`ip link set DEV up`).
    pub fn heal(&self) -> Result<(), LabError> {
        ip(&["-n", &self.namespace, "link", "set", &self.device, "up"])
    }
}

/// A host: a namespace with one address and the link that connects it.
#[derive(Debug, Clone)]
pub struct Host {
    /// Its namespace.
    pub ns: Namespace,
    /// Its address (on `eth0`).
    pub addr: Ipv4Addr,
    /// Its cable: for a public host the bridge port, for a home host the
    /// router's LAN port.
    pub link: Link,
}

/// A home network: a router doing NAT with a public address on the
/// internet, and one host behind it.
///
/// The router masquerades everything that leaves through its WAN port as
/// its public address, and forwards inbound packets only for connections
/// the home opened (nftables `ct state established,related`), like a home
/// router: nothing on the internet can open a connection to the home host.
#[derive(Debug, Clone)]
pub struct Home {
    /// The home's number `n`: its LAN is 198.19.n.0/24.
    pub n: u8,
    /// The router's namespace (interfaces `wan` and `lan`).
    pub router: Namespace,
    /// The router's address on the internet, which the home's connections
    /// come from: 198.18.0.(100 + n).
    pub public_addr: Ipv4Addr,
    /// The router's address on the LAN: 198.19.n.1.
    pub lan_addr: Ipv4Addr,
    /// The host behind the router, 198.19.n.2, with its default route via
    /// the router. Its [`Host::link`] is the router's LAN port.
    pub host: Host,
    /// The router's cable to the internet (its bridge port): cut it to take
    /// the whole home offline.
    pub uplink: Link,
}

/// What a home router does with a packet addressed to itself that belongs
/// to no connection (a SYN or a datagram to a port nothing forwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsolicited {
    /// Answered as Linux does by default: TCP RST, ICMP port unreachable.
    /// The answer also kills a hole punch in flight: the peer's SYN
    /// reaches the router a fraction of a millisecond before the home's
    /// own SYN has left, and is reset.
    Answered,
    /// Dropped without an answer, as most home routers do.
    Dropped,
}

/// The rules added to a router that drops unsolicited packets to itself.
const ROUTER_DROP_RULES: &str = r#"
table ip filter {
    chain input {
        type filter hook input priority filter; policy drop;
        iifname "lo" accept
        iifname "lan" accept
        ct state established,related accept
    }
}
"#;

/// The nftables ruleset of a home router.
const ROUTER_RULES: &str = r#"
table ip nat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan" masquerade
    }
}
table ip filter {
    chain forward {
        type filter hook forward priority filter; policy drop;
        iifname "lan" oifname "wan" accept
        ct state established,related accept
    }
}
"#;

/// A set of namespaces for one test, deleted on drop. See the module
/// documentation for the layout.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    internet: Namespace,
    /// Every namespace made, in order, for the drop.
    made: Vec<String>,
    public_hosts: u8,
    homes: Vec<u8>,
}

impl Lab {
    /// For a test that needs a lab: a new lab, or `None` after printing why
    /// the test is skipped when this machine cannot build one. Under CI
    /// (`CI=true`) a missing requirement fails the test instead, and so does
    /// a lab that cannot be built anywhere.
    pub fn for_test(test: &str) -> Option<Lab> {
        if let Err(why) = available() {
            skip_or_fail(test, &why);
            return None;
        }
        match Lab::new(test) {
            Ok(lab) => Some(lab),
            Err(e) => panic!("{test}: the network lab could not be built: {e}"),
        }
    }

    /// A lab with just the internet: a namespace holding an empty bridge.
    /// `test` goes into the namespace names (with the process id and a
    /// counter), so parallel tests never clash.
    pub fn new(test: &str) -> Result<Lab, LabError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let tag: String = test
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(24)
            .collect();
        let prefix = format!(
            "hearth-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut lab = Lab {
            internet: Namespace {
                name: format!("{prefix}-net"),
            },
            prefix,
            made: Vec::new(),
            public_hosts: 0,
            homes: Vec::new(),
        };
        let internet = lab.internet.name.clone();
        lab.make_namespace(&internet)?;
        lab.internet.ip(&["link", "add", "br0", "type", "bridge"])?;
        lab.internet.ip(&["link", "set", "br0", "up"])?;
        Ok(lab)
    }

    /// The prefix of every namespace name of this lab.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The internet namespace, which holds the bridge `br0` and no address.
    pub fn internet(&self) -> &Namespace {
        &self.internet
    }

    /// A host on the internet with its own public address, 198.18.0.k for
    /// the k-th public host (from 1).
    pub fn add_public_host(&mut self) -> Result<Host, LabError> {
        if self.public_hosts >= MAX_HOSTS {
            return Err(LabError(format!("at most {MAX_HOSTS} public hosts")));
        }
        let k = self.public_hosts + 1;
        let ns = Namespace {
            name: format!("{}-p{k}", self.prefix),
        };
        self.make_namespace(&ns.name)?;
        self.public_hosts = k;
        let port = format!("p{k}");
        let addr = Ipv4Addr::new(198, 18, 0, k);
        self.plug_into_internet(&port, &ns, "eth0")?;
        bring_up_host(&ns, addr, 24)?;
        Ok(Host {
            ns,
            addr,
            link: Link {
                namespace: self.internet.name.clone(),
                device: port,
            },
        })
    }

    /// Home network `n` (1 to 99): a router at 198.18.0.(100 + n) on the
    /// internet doing NAT for the LAN 198.19.n.0/24, and one host behind it
    /// at 198.19.n.2. The router answers unsolicited packets to itself
    /// ([`Unsolicited::Answered`]).
    pub fn add_home(&mut self, n: u8) -> Result<Home, LabError> {
        self.add_home_with(n, Unsolicited::Answered)
    }

    /// [`Lab::add_home`] with a router that does `unsolicited` with
    /// packets to itself that belong to no connection.
    pub fn add_home_with(&mut self, n: u8, unsolicited: Unsolicited) -> Result<Home, LabError> {
        if !(1..=MAX_HOSTS).contains(&n) {
            return Err(LabError(format!(
                "home {n}: homes are numbered 1 to {MAX_HOSTS}"
            )));
        }
        if self.homes.contains(&n) {
            return Err(LabError(format!("home {n} already exists")));
        }
        let router = Namespace {
            name: format!("{}-r{n}", self.prefix),
        };
        let host = Namespace {
            name: format!("{}-h{n}", self.prefix),
        };
        self.make_namespace(&router.name)?;
        self.make_namespace(&host.name)?;
        self.homes.push(n);
        let public_addr = Ipv4Addr::new(198, 18, 0, 100 + n);
        let lan_addr = Ipv4Addr::new(198, 19, n, 1);
        let host_addr = Ipv4Addr::new(198, 19, n, 2);

        let uplink = format!("r{n}");
        self.plug_into_internet(&uplink, &router, "wan")?;
        ip(&[
            "link",
            "add",
            "lan",
            "netns",
            &router.name,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &host.name,
        ])?;
        router.ip(&["addr", "add", &format!("{public_addr}/24"), "dev", "wan"])?;
        router.ip(&["addr", "add", &format!("{lan_addr}/24"), "dev", "lan"])?;
        for dev in ["lo", "wan", "lan"] {
            router.ip(&["link", "set", dev, "up"])?;
        }
        router
            .run(|| std::fs::write("/proc/sys/net/ipv4/ip_forward", "1"))?
            .map_err(|e| LabError(format!("ip_forward in {}: {e}", router.name)))?;
        run_tool(
            "ip",
            &["netns", "exec", &router.name, "nft", "-f", "-"],
            Some(ROUTER_RULES),
        )?;
        if unsolicited == Unsolicited::Dropped {
            run_tool(
                "ip",
                &["netns", "exec", &router.name, "nft", "-f", "-"],
                Some(ROUTER_DROP_RULES),
            )?;
        }

        bring_up_host(&host, host_addr, 24)?;
        let via = lan_addr.to_string();
        host.ip(&["route", "add", "default", "via", &via])?;
        Ok(Home {
            n,
            router: router.clone(),
            public_addr,
            lan_addr,
            host: Host {
                ns: host,
                addr: host_addr,
                link: Link {
                    namespace: router.name,
                    device: "lan".into(),
                },
            },
            uplink: Link {
                namespace: self.internet.name.clone(),
                device: uplink,
            },
        })
    }

    /// Adds namespace `name`, first deleting one of that name left behind by
    /// an earlier process that had this process id.
    fn make_namespace(&mut self, name: &str) -> Result<(), LabError> {
        let _ = ip(&["netns", "del", name]);
        ip(&["netns", "add", name])?;
        self.made.push(name.to_owned());
        Ok(())
    }

    /// A veth pair from bridge port `port` in the internet to `device` in
    /// `ns`. Both ends are created directly in their namespaces, so nothing
    /// appears in the machine's own namespace, not even for a moment, and
    /// the short names cannot clash with another lab's.
    fn plug_into_internet(&self, port: &str, ns: &Namespace, device: &str) -> Result<(), LabError> {
        ip(&[
            "link",
            "add",
            port,
            "netns",
            &self.internet.name,
            "type",
            "veth",
            "peer",
            "name",
            device,
            "netns",
            &ns.name,
        ])?;
        self.internet.ip(&["link", "set", port, "master", "br0"])?;
        self.internet.ip(&["link", "set", port, "up"])
    }
}

/// Gives `eth0` in `ns` its address and brings it and loopback up.
fn bring_up_host(ns: &Namespace, addr: Ipv4Addr, prefix_len: u8) -> Result<(), LabError> {
    ns.ip(&[
        "addr",
        "add",
        &format!("{addr}/{prefix_len}"),
        "dev",
        "eth0",
    ])?;
    ns.ip(&["link", "set", "lo", "up"])?;
    ns.ip(&["link", "set", "eth0", "up"])
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes its interfaces, and with them the
        // other end of each veth pair.
        for name in self.made.iter().rev() {
            if let Err(e) = ip(&["netns", "del", name]) {
                eprintln!("cleaning up the network lab: {e}");
            }
        }
    }
}
