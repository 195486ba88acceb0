//! Version comparison for kernel and package versions.
//!
//! Compares the leading dotted numeric part (`5.4.1-1.el7` → 5, 4, 1), which
//! is what "is the running kernel at least 4.19" needs. Missing components
//! count as zero, so `4.19` equals `4.19.0`.

use std::cmp::Ordering;

/// The numeric components of the leading `N.N.N` part of `v`.
pub fn numeric_parts(v: &str) -> Vec<u64> {
    v.trim()
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .unwrap_or("")
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>().unwrap_or(u64::MAX))
        .collect()
}

/// Compare two versions by their numeric prefix.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (numeric_parts(a), numeric_parts(b));
    let n = a.len().max(b.len());
    for i in 0..n {
        let (x, y) = (a.get(i).copied().unwrap_or(0), b.get(i).copied().unwrap_or(0));
        match x.cmp(&y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

/// `v >= min`.
pub fn at_least(v: &str, min: &str) -> bool {
    compare(v, min) != Ordering::Less
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_kernel_versions() {
        // CentOS stock kernel is older than any mainline kernel-ml.
        assert!(!at_least("3.10.0-1160.el7.x86_64", "4.19"));
        assert!(at_least("5.19.3-1.el7.elrepo.x86_64", "4.19"));
        // Missing components are zero; numeric, not lexical.
        assert_eq!(compare("4.19", "4.19.0"), Ordering::Equal);
        assert_eq!(compare("4.9", "4.19"), Ordering::Less);
        assert_eq!(compare("1.21.10", "1.21.9"), Ordering::Greater);
    }
}
