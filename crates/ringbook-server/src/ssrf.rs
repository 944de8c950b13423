//! Which addresses an outbound request chosen by a remote party (an official account's callback
//! URL) may reach: only globally routable unicast, so a callback cannot be aimed at the server's
//! own host, its private network, or a special-purpose range that leads there.
//!
//! The special-purpose ranges come from `iprfc::RFC6890`, a pinned snapshot of IANA's IPv4 and
//! IPv6 Special-Purpose Address Space registries (RFC 6890 and every later assignment). What the
//! registries do not list is added here:
//!
//! | range | why refused | reference |
//! | --- | --- | --- |
//! | `224.0.0.0/4` | IPv4 multicast | RFC 5771 |
//! | IPv6 outside `2000::/3` | not global unicast: `::/96` IPv4-compatible (RFC 4291 §2.5.5.1), `::ffff:0:0:0/96` SIIT-translated (RFC 2765), `64:ff9b:1::/48` local-use NAT64 (RFC 8215), `100::/64` discard (RFC 6666), `fc00::/7` unique local (RFC 4193), `fe80::/10` link-local (RFC 4291), `fec0::/10` site-local (RFC 3879), `ff00::/8` multicast (RFC 4291), and every unassigned block | RFC 4291 §2.4, IANA IPv6 address space |
//! | inside `2000::/3`, listed by IANA | e.g. Teredo `2001::/32` (RFC 4380) and the rest of `2001::/23`, 6to4 `2002::/16` (RFC 3056, RFC 7526), documentation `2001:db8::/32` and `3fff::/20` | IANA special registry |
//!
//! Two IPv6 forms carry an IPv4 address the packet really goes to, and are judged by that
//! address instead: IPv4-mapped `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2; a dual-stack socket
//! connects over IPv4) and the NAT64 well-known prefix `64:ff9b::a.b.c.d` (RFC 6052; on an
//! IPv6-only host behind DNS64 every IPv4 site looks like this, so it cannot be refused whole).
//! The other forms that embed IPv4 (compatible, translated, 6to4, Teredo) are refused whole, and
//! [`embedded_ipv4`] still maps them back so that tests can show none of them leads anywhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a globally routable unicast address a callback may reach.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    !(ip.is_multicast() || iprfc::RFC6890.contains(&ip))
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // IPv4-mapped ::ffff:0:0/96 and NAT64 64:ff9b::/96: judged by the IPv4 address inside.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_global_v4(v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_global_v4(low_v4(ip));
    }
    // Global unicast is 2000::/3 (RFC 4291 §2.4); everything else is special or unassigned.
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    global_unicast && !iprfc::RFC6890.contains(&ip)
}

/// The last 32 bits as an IPv4 address.
fn low_v4(ip: Ipv6Addr) -> Ipv4Addr {
    let o = ip.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

/// Every IPv4 address an IPv6 address carries by a transition mechanism: mapped
/// (`::ffff:a.b.c.d`), translated (`::ffff:0:a.b.c.d`), compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`, and the last 32 bits of `64:ff9b:1::/48`), 6to4 (`2002:AABB:CCDD::`)
/// and Teredo (`2001:0:SSSS:SSSS::` server, client in the last 32 bits XOR-ed with ones).
pub fn embedded_ipv4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let mut found = Vec::new();
    if s[..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || s[5] == 0) {
        found.push(low_v4(ip)); // mapped or compatible (including :: and ::1)
    }
    if s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 {
        found.push(low_v4(ip)); // translated
    }
    if s[0] == 0x64 && s[1] == 0xff9b && (s[2] == 0 || s[2] == 1) {
        found.push(low_v4(ip)); // NAT64, well-known or local-use with a /96 prefix
    }
    if s[0] == 0x2002 {
        found.push(Ipv4Addr::new(o[2], o[3], o[4], o[5])); // 6to4
    }
    if s[0] == 0x2001 && s[1] == 0 {
        found.push(Ipv4Addr::new(o[4], o[5], o[6], o[7])); // Teredo server
        found.push(Ipv4Addr::new(!o[12], !o[13], !o[14], !o[15])); // Teredo client
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(s: &str) -> bool {
        is_global(s.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700::1111",
            "2a00:1450:4001:82a::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
        ] {
            assert!(global(ip), "{ip} should be global");
        }
    }

    #[test]
    fn every_non_global_range_is_refused() {
        for ip in [
            // IPv4
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "192.0.0.1",
            "192.0.0.170",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            // IPv6 special ranges
            "::",
            "::1",
            "100::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "2001:db8::1",
            "3fff::1",
            "5f00::1",
            // transition forms reaching private IPv4
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::8.8.8.8", // IPv4-compatible is deprecated: refused whatever it carries
            "::ffff:0:127.0.0.1",
            "::ffff:0:8.8.8.8",
            "64:ff9b::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::169.254.169.254",
            "64:ff9b:1::127.0.0.1",
            "64:ff9b:1::8.8.8.8",
            "2002:7f00:1::",
            "2002:0808:0808::1",
            "2001:0:7f00:1::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(!global(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn embedded_ipv4_is_mapped_back() {
        let v4 = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let emb = |s: &str| embedded_ipv4(s.parse().unwrap());
        assert_eq!(emb("::ffff:127.0.0.1"), vec![v4("127.0.0.1")]);
        assert_eq!(emb("::10.0.0.1"), vec![v4("10.0.0.1")]);
        assert_eq!(emb("::ffff:0:10.0.0.1"), vec![v4("10.0.0.1")]);
        assert_eq!(emb("64:ff9b::192.168.0.1"), vec![v4("192.168.0.1")]);
        assert_eq!(emb("64:ff9b:1::192.168.0.1"), vec![v4("192.168.0.1")]);
        assert_eq!(emb("2002:c0a8:0001::1"), vec![v4("192.168.0.1")]);
        // Teredo example of RFC 4380 §4: server 65.54.227.120, client 192.0.2.45.
        assert_eq!(
            emb("2001:0:4136:e378:8000:63bf:3fff:fdd2"),
            vec![v4("65.54.227.120"), v4("192.0.2.45")]
        );
        assert!(emb("2606:4700::1111").is_empty());
        // Whatever an embedding form carries, the whole address is refused unless it is a
        // mapped or NAT64 form of a global address.
        for form in [
            "::ffff:0:8.8.8.8",
            "::8.8.8.8",
            "64:ff9b:1::8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert!(!global(form), "{form}");
        }
    }
}
