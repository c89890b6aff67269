//! Where journey webhooks may go. A tenant's operators type the URL of a webhook node, so a call must never
//! reach siyu's own network: loopback, private (RFC 1918), link-local (the cloud metadata service at
//! 169.254.169.254), carrier-grade NAT, unique-local IPv6 and the other special-purpose ranges are refused,
//! both for an address written in the URL and for every address a host name resolves to. The check runs
//! inside the HTTP client's resolver, on the addresses the connection uses, so a name that resolves to a
//! public address when the node is saved and to a private one later (DNS rebinding) is still refused.
//! `[webhooks] allow_private_networks = true` lifts the guard (a single-tenant install calling its own
//! intranet; the tests, whose receivers listen on 127.0.0.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a call was refused before it was made.
pub const BLOCKED: &str = "blocked address";

/// Whether `ip` is outside the public internet (see the module documentation).
pub fn is_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => blocked_v4(v4),
            None => blocked_v6(v6),
        },
    }
}

fn blocked_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT, 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, 192.0.0.0/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, 198.18.0.0/15
        || a >= 240 // reserved, 240.0.0.0/4
}

fn blocked_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation, 2001:db8::/32
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible or NAT64 (`64:ff9b::/96`)
/// IPv6 address: those reach the IPv4 host, so they are judged as it.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified()) {
        return Some(tail);
    }
    None
}

/// The host of `url` when it is an IP address written out (the resolver never sees those).
pub fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    // The URL parser writes an IPv4 host in dotted form (also one given as `2130706433` or `0x7f.1`) and an
    // IPv6 host in brackets.
    let host = url.host_str()?;
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).parse().ok()
}

/// A resolver that drops every address [`is_blocked`] refuses; a name left with none fails to resolve with
/// [`BLOCKED`] in its error.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.iter().copied().filter(|a| !is_blocked(a.ip())).collect();
            if public.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = format!("{BLOCKED}: {host}").into();
                return Err(err);
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_and_special_addresses_are_blocked() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.0.170",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::a9fe:a9fe",
            "ff02::1",
        ] {
            assert!(is_blocked(ip(s)), "{s} must be blocked");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for s in
            ["8.8.8.8", "1.1.1.1", "100.128.0.1", "172.32.0.1", "2400:3200::1", "::ffff:8.8.8.8", "64:ff9b::808:808"]
        {
            assert!(!is_blocked(ip(s)), "{s} must pass");
        }
    }

    #[test]
    fn a_literal_ip_host_is_found_in_the_url() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        assert_eq!(literal_ip(&u("http://127.0.0.1:8080/x")), Some(ip("127.0.0.1")));
        assert_eq!(literal_ip(&u("http://[::1]/")), Some(ip("::1")));
        assert_eq!(literal_ip(&u("http://2130706433/")), Some(ip("127.0.0.1")), "decimal form is an address too");
        assert_eq!(literal_ip(&u("https://hooks.example.com/")), None);
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_only_resolves_to_loopback() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = match PublicOnly.resolve(name).await {
            Ok(_) => panic!("localhost must not resolve"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(BLOCKED), "{err}");
    }
}
