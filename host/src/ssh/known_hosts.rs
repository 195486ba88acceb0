//! Reading a known_hosts file as OpenSSH does (sshd(8) "SSH_KNOWN_HOSTS
//! FILE FORMAT", hostfile.c, match.c): comma-separated host patterns with
//! `*`/`?` globs and `!` negations, `[host]:port` names for other ports,
//! hashed names (`|1|salt|HMAC-SHA1`), `@revoked` keys that are refused
//! whatever else the file says, and `@cert-authority` keys whose host
//! certificates are trusted. Lines are parsed by the `ssh-key` crate.
//!
//! One rule is stricter than OpenSSH's `accept-new`: a known host that
//! offers a key of an algorithm the file does not list for it is refused,
//! not learned (an interceptor could pick the algorithm).

use hmac::{KeyInit, Mac};
use russh::keys::ssh_key::known_hosts::{Entry, HostPatterns, Marker};
use russh::keys::ssh_key::{Certificate, HashAlg, PublicKey, certificate::CertType};

/// What the file says about an offered key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A recorded key (or a certificate signed by a recorded authority).
    Trusted,
    /// Nothing is recorded for this host.
    Unknown,
    /// The host is known, but only with keys of other algorithms.
    NewAlgorithm {
        /// The algorithms recorded for it.
        known: Vec<String>,
    },
    /// A different key of the same algorithm is recorded (first such line).
    Changed {
        /// 1-based line.
        line: usize,
    },
    /// The key (or the authority that signed it) is marked `@revoked`.
    Revoked {
        /// 1-based line.
        line: usize,
    },
}

/// The name a host has in known_hosts: `address` on port 22, else
/// `[address]:port` (OpenSSH's `put_host_port`), as written.
pub fn entry_name(address: &str, port: u16) -> String {
    if port == 22 { address.to_string() } else { format!("[{address}]:{port}") }
}

/// [`entry_name`] as patterns are matched against it (lowercase).
pub fn host_name(address: &str, port: u16) -> String {
    entry_name(address, port).to_ascii_lowercase()
}

/// OpenSSH's `match_pattern`: `*` any run, `?` any one character.
fn glob(s: &[u8], p: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, _) => s.is_empty(),
        (Some(b'*'), _) => glob(s, &p[1..]) || (!s.is_empty() && glob(&s[1..], p)),
        (Some(b'?'), Some(_)) => glob(&s[1..], &p[1..]),
        (Some(c), Some(d)) if c == d => glob(&s[1..], &p[1..]),
        _ => false,
    }
}

/// OpenSSH's `match_hostname`: a negated pattern that matches rules the
/// entry out; otherwise any positive match matches (case-insensitive).
fn patterns_match(patterns: &[String], name: &str) -> bool {
    let mut found = false;
    for p in patterns {
        let p = p.to_ascii_lowercase();
        match p.strip_prefix('!') {
            Some(neg) if glob(name.as_bytes(), neg.as_bytes()) => return false,
            Some(_) => {}
            None => found |= glob(name.as_bytes(), p.as_bytes()),
        }
    }
    found
}

fn host_matches(h: &HostPatterns, name: &str) -> bool {
    match h {
        HostPatterns::Patterns(p) => patterns_match(p, name),
        HostPatterns::HashedName { salt, hash } => {
            let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(salt) else { return false };
            mac.update(name.as_bytes());
            mac.verify_slice(hash).is_ok()
        }
    }
}

/// Entries with their 1-based line numbers; lines `ssh-key` cannot parse
/// are skipped as OpenSSH skips them, with a warning naming the line.
pub fn parse(text: &str, file: &str) -> Vec<(usize, Entry)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match line.parse::<Entry>() {
            Ok(e) => out.push((i + 1, e)),
            Err(e) => tracing::warn!("{file} line {}: ignored ({e})", i + 1),
        }
    }
    out
}

/// Whether `cert` is a valid host certificate for `address` signed by one
/// of `authorities` (validity period, signature, principals).
fn cert_trusted(cert: &Certificate, address: &str, authorities: &[&PublicKey]) -> bool {
    let fingerprints: Vec<_> = authorities.iter().map(|k| k.fingerprint(HashAlg::Sha256)).collect();
    cert.cert_type() == CertType::Host
        && cert.validate(&fingerprints).is_ok()
        && (cert.valid_principals().is_empty() || cert.valid_principals().iter().any(|p| p.eq_ignore_ascii_case(address)))
}

/// Judge the key (or certificate) a host offers.
pub fn check(entries: &[(usize, Entry)], address: &str, port: u16, key: &PublicKey, cert: Option<&Certificate>) -> Verdict {
    let name = host_name(address, port);
    let mine: Vec<&(usize, Entry)> = entries.iter().filter(|(_, e)| host_matches(e.host_patterns(), &name)).collect();
    let ca_key = cert.map(|c| PublicKey::from(c.signature_key().clone()));
    // A revoked key, or a revoked authority behind a certificate, is
    // refused whatever else matches.
    for (line, e) in &mine {
        if e.marker() == Some(&Marker::Revoked)
            && (e.public_key().key_data() == key.key_data() || ca_key.as_ref().is_some_and(|k| e.public_key().key_data() == k.key_data()))
        {
            return Verdict::Revoked { line: *line };
        }
    }
    if let Some(cert) = cert {
        let authorities: Vec<&PublicKey> =
            mine.iter().filter(|(_, e)| e.marker() == Some(&Marker::CertAuthority)).map(|(_, e)| e.public_key()).collect();
        if !authorities.is_empty() && cert_trusted(cert, address, &authorities) {
            return Verdict::Trusted;
        }
        // As OpenSSH does, an untrusted certificate falls back to its plain key.
    }
    let plain: Vec<&&(usize, Entry)> = mine.iter().filter(|(_, e)| e.marker().is_none()).collect();
    if plain.iter().any(|(_, e)| e.public_key().key_data() == key.key_data()) {
        return Verdict::Trusted;
    }
    if let Some((line, _)) = plain.iter().find(|(_, e)| e.public_key().algorithm() == key.algorithm()) {
        return Verdict::Changed { line: *line };
    }
    if plain.is_empty() {
        return Verdict::Unknown;
    }
    let mut known: Vec<String> = plain.iter().map(|(_, e)| e.public_key().algorithm().to_string()).collect();
    known.sort();
    known.dedup();
    Verdict::NewAlgorithm { known }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Keys made with ssh-keygen: two ed25519, one ecdsa.
    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBRnNGvl8/LQ0uVlGQT6wSonT1jdrh6WOWN7U1z3B8Fw";
    const ED2: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBzEl27L2gtlvnF12AlrJqXzaOMWChsGbavj3Bc1G+CZ";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLUHaPO8JKWo7x0vP873YxB0OszpcLx8ASvS44e39GaNJYibjJSk4w2KTEyGTjTrwf7VsUtafEEMjjblyQOVibs=";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }
    fn judge(file: &str, address: &str, port: u16, offered: &str) -> Verdict {
        check(&parse(file, "known_hosts"), address, port, &key(offered), None)
    }

    #[test]
    fn names_patterns_and_ports_follow_openssh() {
        let file = format!("# comment\n\nweb1,10.0.0.5 {ED}\n*.lab.example,!bad.lab.example {ED}\n[10.0.0.9]:2222 {ED}\nnot a key line\n");
        // (address, port, verdict)
        let cases = [
            ("web1", 22, Verdict::Trusted),
            ("WEB1", 22, Verdict::Trusted),
            ("10.0.0.5", 22, Verdict::Trusted),
            ("10.0.0.5", 2222, Verdict::Unknown),
            ("a.lab.example", 22, Verdict::Trusted),
            ("bad.lab.example", 22, Verdict::Unknown),
            ("10.0.0.9", 2222, Verdict::Trusted),
            ("10.0.0.9", 22, Verdict::Unknown),
            ("other", 22, Verdict::Unknown),
        ];
        for (address, port, want) in cases {
            assert_eq!(judge(&file, address, port, ED), want, "{address}:{port}");
        }
        assert_eq!(judge(&file, "web1", 22, ED2), Verdict::Changed { line: 3 });
    }

    #[test]
    fn hashed_names_match_their_host_only() {
        // `ssh-keygen -H` of "web1": |1|base64(salt)|base64(HMAC-SHA1(salt, "web1")).
        let salt = [7u8; 20];
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"web1");
        let hash = mac.finalize().into_bytes();
        use russh::keys::ssh_encoding::base64::{Base64, Encoding};
        let file = format!("|1|{}|{} {ED}\n", Base64::encode_string(&salt), Base64::encode_string(&hash));
        assert_eq!(judge(&file, "web1", 22, ED), Verdict::Trusted);
        assert_eq!(judge(&file, "web2", 22, ED), Verdict::Unknown);
        assert_eq!(judge(&file, "web1", 22, ED2), Verdict::Changed { line: 1 });
    }

    #[test]
    fn a_revoked_key_is_refused_even_when_also_recorded() {
        let file = format!("web1 {ED}\n@revoked * {ED}\n");
        assert_eq!(judge(&file, "web1", 22, ED), Verdict::Revoked { line: 2 });
        assert_eq!(judge(&file, "web1", 22, ED2), Verdict::Changed { line: 1 });
    }

    #[test]
    fn a_key_of_a_new_algorithm_for_a_known_host_is_not_unknown() {
        let file = format!("web1 {ED}\n");
        assert_eq!(judge(&file, "web1", 22, ECDSA), Verdict::NewAlgorithm { known: vec!["ssh-ed25519".into()] });
        assert_eq!(judge(&file, "web2", 22, ECDSA), Verdict::Unknown);
        // A second recorded key of the offered algorithm: trusted.
        assert_eq!(judge(&format!("web1 {ED}\nweb1 {ECDSA}\n"), "web1", 22, ECDSA), Verdict::Trusted);
        // An authority line alone does not make a plain key known.
        assert_eq!(judge(&format!("@cert-authority web1 {ED}\n"), "web1", 22, ECDSA), Verdict::Unknown);
    }
}
