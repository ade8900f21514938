//! Whose request this is: the peer's address, or, when the peer is one of the configured
//! proxies, the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Every
//! proxy appends the address it received from, so everything left of the first untrusted entry
//! was written by the client and proves nothing; reading the first entry (as a naive reader
//! does) lets any caller choose the address it is judged by.

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// Why a list of proxies was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or a network (10.0.0.0/8, fd00::/8)")]
pub struct ProxyListError(pub String);

impl TrustedProxies {
    /// No proxy is trusted: the client is always the peer.
    pub fn none() -> Self {
        TrustedProxies(Vec::new())
    }

    /// Addresses and networks separated by commas (`10.0.0.0/8, 192.0.2.7`).
    pub fn parse(text: &str) -> Result<Self, ProxyListError> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| ProxyListError(entry.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    /// Whether any proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from `peer` carrying `forwarded_for` (the `X-Forwarded-For`
    /// values, in order). From an untrusted peer the header is ignored. From a trusted one the
    /// entries are read from the right, past trusted proxies, and the first other address is
    /// the client; an entry that is not an address stops the walk at the last trusted hop, and
    /// when every entry is a trusted proxy the left-most is the client.
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let entries: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

impl TrustedProxies {
    /// [`TrustedProxies::client`] of a request's headers: every `X-Forwarded-For` line, read
    /// byte by byte (a client's non-ASCII entry must not hide the entry its proxy appended to
    /// the same line).
    pub fn client_of(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        let forwarded: Vec<std::borrow::Cow<'_, str>> = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .collect();
        self.client(peer, forwarded.iter().map(AsRef::as_ref))
    }
}

/// An address as proxies write it: bare, `[v6]`, or with a port (`192.0.2.7:51234`,
/// `[2001:db8::1]:443`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    entry.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let none = TrustedProxies::none();
        assert_eq!(
            none.client(ip("203.0.113.9"), ["198.51.100.7"]),
            ip("203.0.113.9")
        );
        let lb = TrustedProxies::parse("10.0.0.0/8").expect("list");
        assert_eq!(
            lb.client(ip("203.0.113.9"), ["198.51.100.7"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.7").expect("list");
        let peer = ip("10.1.2.3");
        // the caller wrote 1.1.1.1 itself; the load balancer appended what it saw
        assert_eq!(
            proxies.client(peer, ["1.1.1.1, 198.51.100.7"]),
            ip("198.51.100.7")
        );
        // two proxies, each appending its own peer; headers may be split across lines
        assert_eq!(
            proxies.client(peer, ["1.1.1.1, 198.51.100.7", "192.0.2.7"]),
            ip("198.51.100.7")
        );
        // nothing forwarded: the proxy itself
        assert_eq!(proxies.client(peer, []), peer);
        // only proxies: the left-most
        assert_eq!(
            proxies.client(peer, ["10.9.9.9, 192.0.2.7"]),
            ip("10.9.9.9")
        );
        // garbage stops the walk at the last trusted hop
        assert_eq!(proxies.client(peer, ["198.51.100.7, unknown"]), peer);
        assert_eq!(
            proxies.client(peer, ["unknown, 192.0.2.7"]),
            ip("192.0.2.7")
        );
    }

    #[test]
    fn entries_with_ports_and_mapped_addresses_are_read() {
        let proxies = TrustedProxies::parse("10.0.0.1, fd00::/8").expect("list");
        assert_eq!(
            proxies.client(ip("::ffff:10.0.0.1"), ["198.51.100.7:4431"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            proxies.client(ip("fd00::1"), ["[2001:db8::5]:443"]),
            ip("2001:db8::5")
        );
        assert_eq!(
            proxies.client(ip("fd00::1"), ["2001:db8::6"]),
            ip("2001:db8::6")
        );
    }

    #[test]
    fn a_clients_non_ascii_entry_does_not_hide_the_proxys() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").expect("list");
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"\xff\xfe, 198.51.100.7").expect("value"),
        );
        assert_eq!(
            proxies.client_of(ip("10.1.1.1"), &headers),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_bad_entry_in_the_list_is_named() {
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8, lb.internal"),
            Err(ProxyListError("lb.internal".into()))
        );
        assert!(TrustedProxies::parse(" ").expect("empty").is_empty());
    }
}
