//! Checking single values as people type them: multiaddresses, nicknames,
//! channel names, booleans and counts. Every error says what was given,
//! where, and what is accepted.

use hearth_protocol::limits::MAX_NICKNAME_BYTES;
use hearth_protocol::{ChannelName, text};
use libp2p::Multiaddr;

use crate::error::UsageError;

/// An example of a listen address, for error messages.
pub(super) const LISTEN_EXAMPLE: &str = "/ip4/0.0.0.0/tcp/4001 or /ip4/0.0.0.0/udp/4001/quic-v1";
/// An example of an address to dial, for error messages.
pub(super) const BOOTSTRAP_EXAMPLE: &str =
    "/ip4/192.0.2.7/tcp/4001/p2p/12D3KooW… or /dns4/hearth.example.org/tcp/4001";

/// Parses a multiaddress given for `what` (a flag, variable or file key);
/// the error says what is wrong and shows an `example` of what is accepted.
pub(super) fn parse_multiaddr(
    input: &str,
    what: &str,
    example: &str,
) -> Result<Multiaddr, UsageError> {
    let trimmed = input.trim();
    let problem = if trimmed.is_empty() {
        "it is empty".to_owned()
    } else if !trimmed.starts_with('/') {
        "it does not start with '/'".to_owned()
    } else {
        match trimmed.parse::<Multiaddr>() {
            Ok(addr) if !addr.is_empty() => return Ok(addr),
            Ok(_) => "it is empty".to_owned(),
            Err(e) => e.to_string(),
        }
    };
    Err(UsageError::new(format!(
        "invalid multiaddress {input:?} in {what}: {problem}; use one like {example}"
    )))
}

/// Parses an IP address and port given for `what`, like `127.0.0.1:9464`
/// or `[::1]:9464`.
pub(super) fn parse_socket_addr(
    input: &str,
    what: &str,
) -> Result<std::net::SocketAddr, UsageError> {
    input.trim().parse().map_err(|_| {
        UsageError::new(format!(
            "invalid address {input:?} in {what}: use an IP address and a port like \
             127.0.0.1:9464 or [::1]:9464 (port 0 picks a free one)"
        ))
    })
}

/// Checks a nickname as the protocol does: one line, at most 32 bytes, no
/// control characters, no white space at either end.
pub(super) fn check_nick(nick: &str) -> Result<String, String> {
    let fail = |problem: String| {
        format!(
            "invalid nickname {nick:?}: {problem}; use one line of at most \
             {MAX_NICKNAME_BYTES} bytes with no control characters"
        )
    };
    text::check_line("nickname", nick, MAX_NICKNAME_BYTES).map_err(|e| fail(e.to_string()))?;
    if nick.trim() != nick {
        return Err(fail("it starts or ends with white space".to_owned()));
    }
    Ok(nick.to_owned())
}

/// Parses a channel name a person typed; the error says what is accepted.
pub(crate) fn parse_channel(input: &str) -> Result<ChannelName, UsageError> {
    ChannelName::parse(input).map_err(|e| UsageError::new(e.to_string()))
}

/// A boolean as flags and variables write it: `true`/`false`, `1`/`0`,
/// `yes`/`no` or `on`/`off`. `given` names the value for the error, like
/// `HEARTH_MDNS="maybe"`.
pub(super) fn parse_bool(value: &str, given: &str) -> Result<bool, UsageError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(UsageError::new(format!(
            "invalid {given}: use true or false (also 1/0, yes/no, on/off)"
        ))),
    }
}

/// A whole number; `given` names the value for the error.
pub(super) fn parse_number<T: std::str::FromStr>(
    value: &str,
    given: &str,
) -> Result<T, UsageError> {
    value
        .trim()
        .parse()
        .map_err(|_| UsageError::new(format!("invalid {given}: use a whole number like 30")))
}

/// The items in their first order, without repeats.
pub(super) fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
