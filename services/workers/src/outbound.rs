//! Where the built-in workers may connect: public addresses, and the loopback, link-local or
//! private ones the operator lists in the engine's `workers.outbound_allow`, which the engine
//! hands every worker as `SKEP_WORKER_OUTBOUND_ALLOW` (comma-separated IP addresses, CIDR ranges
//! and host names). Without it, a configurable URL or SMTP host (set by an orgadmin) could point
//! a worker at the engine's own network: cloud metadata, admin ports, internal services.
//!
//! Host names are resolved once and checked address by address; the HTTP client resolves through
//! [`GuardedResolver`], so a redirect or a DNS answer cannot lead elsewhere, and
//! [`redirect_policy`] refuses redirects to refused literal addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use crate::error::WorkerError;

/// The environment variable holding the operator's allowlist.
pub const ALLOW_VARIABLE: &str = "SKEP_WORKER_OUTBOUND_ALLOW";

/// The engine setting an operator changes to allow an address (named in every refusal).
pub const SETTING: &str = "workers.outbound_allow";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Range(IpAddr, u8),
    Host(String),
}

/// The operator's allowlist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbound {
    allowed: Vec<Entry>,
}

impl Outbound {
    /// Parses a comma-separated list (unparseable entries are taken as host names).
    pub fn parse(list: &str) -> Outbound {
        let allowed = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                if let Some((address, bits)) = entry.split_once('/')
                    && let (Ok(address), Ok(bits)) = (address.parse::<IpAddr>(), bits.parse::<u8>())
                {
                    return Entry::Range(address, bits);
                }
                match entry.trim_matches(['[', ']']).parse::<IpAddr>() {
                    Ok(address) => Entry::Range(address, full_length(address)),
                    Err(_) => Entry::Host(entry.to_ascii_lowercase()),
                }
            })
            .collect();
        Outbound { allowed }
    }

    /// The allowlist the engine handed this worker process.
    pub fn from_environment() -> Outbound {
        Outbound::parse(&std::env::var(ALLOW_VARIABLE).unwrap_or_default())
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.allowed
            .iter()
            .any(|entry| matches!(entry, Entry::Host(allowed) if *allowed == host))
    }

    /// Whether the worker may connect to `address`.
    pub fn allows(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        !restricted(address)
            || self.allowed.iter().any(|entry| match entry {
                Entry::Range(network, bits) => in_range(address, canonical(*network), *bits),
                Entry::Host(_) => false,
            })
    }

    /// Checks `host` (a name or a literal address) given by the configuration item `item`, and
    /// returns its addresses (all allowed). A host name listed in the allowlist passes whatever
    /// it resolves to.
    pub fn resolve(
        &self,
        item: &str,
        host: &str,
        port: u16,
    ) -> Result<Vec<SocketAddr>, WorkerError> {
        let bare = host.trim_matches(['[', ']']);
        let addresses: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(address) => vec![SocketAddr::new(address, port)],
            Err(_) => (bare, port)
                .to_socket_addrs()
                .map_err(|error| {
                    WorkerError::Service(format!("cannot resolve {host} (from {item}): {error}"))
                })?
                .collect(),
        };
        if self.allows_host(bare) {
            return Ok(addresses);
        }
        match addresses.iter().find(|address| !self.allows(address.ip())) {
            Some(refused) => Err(refusal(item, host, refused.ip())),
            None => Ok(addresses),
        }
    }

    /// Checks the host of `url` (configuration item `item`) before any request is sent.
    pub fn check_url(&self, item: &str, url: &str) -> Result<(), WorkerError> {
        self.check_url_host(item, url, true)
    }

    /// Checks the host of `url` reached through a proxy: the proxy (checked itself) resolves
    /// names, so only a literal address is judged here.
    pub fn check_proxied_url(&self, item: &str, url: &str) -> Result<(), WorkerError> {
        self.check_url_host(item, url, false)
    }

    fn check_url_host(&self, item: &str, url: &str, resolve: bool) -> Result<(), WorkerError> {
        let parsed = reqwest::Url::parse(url).map_err(|error| WorkerError::InvalidConfig {
            name: "url",
            reason: format!("`{}` is not a URL ({error}) (from {item})", redact_url(url)),
        })?;
        let host = parsed.host_str().unwrap_or_default();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let literal = host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok();
        if !resolve && !literal {
            return Ok(());
        }
        self.resolve(item, host, port).map(|_| ())
    }
}

fn refusal(item: &str, host: &str, address: IpAddr) -> WorkerError {
    WorkerError::Service(format!(
        "outbound connection refused: {item} points to {host} ({address}), a loopback, \
         link-local or private address; the engine operator must list it in {SETTING}"
    ))
}

/// A URL as it may be shown or logged: no user, password, query or fragment.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => "(unparseable URL)".to_owned(),
    }
}

fn full_length(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn in_range(address: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (address, network) {
        (IpAddr::V4(address), IpAddr::V4(network)) => {
            let bits = u32::from(bits.min(32));
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(address) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(address), IpAddr::V6(network)) => {
            let bits = u32::from(bits.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(address) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

/// Loopback, link-local, private, shared (CGNAT), unspecified, broadcast, multicast and
/// documentation-free internal ranges: none of them is a third-party service on the internet.
fn restricted(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => restricted_v4(v4),
        IpAddr::V6(v6) => restricted_v6(v6),
    }
}

fn restricted_v4(address: Ipv4Addr) -> bool {
    let [first, second, ..] = address.octets();
    address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || first == 0
        || (first == 100 && (64..128).contains(&second))
        || (first == 192 && second == 0 && address.octets()[2] == 0)
        || first >= 240
}

fn restricted_v6(address: Ipv6Addr) -> bool {
    let first = address.segments()[0];
    address.is_loopback()
        || address.is_unspecified()
        || address.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
}

/// The HTTP client's resolver: resolves names and keeps only allowed addresses (a name whose
/// every address is refused fails with the refusal).
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    outbound: Outbound,
    item: &'static str,
}

impl GuardedResolver {
    /// A resolver enforcing `outbound` for connections made for configuration item `item`.
    pub fn new(outbound: Outbound, item: &'static str) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { outbound, item })
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let result = self
            .outbound
            .resolve(self.item, name.as_str(), 0)
            .map(|addresses| Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
            .map_err(|error| Box::new(error) as Box<dyn std::error::Error + Send + Sync>);
        Box::pin(std::future::ready(result))
    }
}

/// Follows up to 10 redirects, refusing one to a literal address the allowlist refuses (names
/// are checked by [`GuardedResolver`] when connecting).
pub fn redirect_policy(outbound: Outbound, item: &'static str) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("too many redirects");
        }
        let host = attempt.url().host_str().unwrap_or_default().to_owned();
        let literal = host.trim_matches(['[', ']']).parse::<IpAddr>();
        match literal {
            Ok(address) if !outbound.allows(address) => {
                attempt.error(refusal(item, &format!("a redirect to {host}"), address))
            }
            _ => attempt.follow(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn internal_ranges_are_refused_by_default_and_public_ones_allowed() {
        let none = Outbound::default();
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!none.allows(ip(refused)), "{refused}");
        }
        for allowed in ["8.8.8.8", "198.51.100.7", "2001:4860:4860::8888"] {
            assert!(none.allows(ip(allowed)), "{allowed}");
        }
    }

    #[test]
    fn the_operator_list_opens_addresses_ranges_and_names() {
        let outbound = Outbound::parse("127.0.0.1, 10.0.0.0/8,[::1], smtp.internal");

        assert!(outbound.allows(ip("127.0.0.1")));
        assert!(!outbound.allows(ip("127.0.0.2")));
        assert!(outbound.allows(ip("10.200.1.1")));
        assert!(!outbound.allows(ip("192.168.0.1")));
        assert!(outbound.allows(ip("::1")));
        assert!(outbound.allows_host("SMTP.internal"));
    }

    #[test]
    fn a_refusal_names_the_item_the_address_and_the_setting() {
        let error = Outbound::default()
            .check_url("url", "http://user:pw@127.0.0.1:8080/api?key=k")
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();

        assert!(error.contains("url points to 127.0.0.1"), "{error}");
        assert!(error.contains("workers.outbound_allow"), "{error}");
        assert!(!error.contains("pw") && !error.contains("key=k"), "{error}");
    }

    #[test]
    fn urls_are_shown_without_credentials_or_query() {
        assert_eq!(
            redact_url("https://u:p@hooks.example/x?token=t#f"),
            "https://hooks.example/x"
        );
    }
}
