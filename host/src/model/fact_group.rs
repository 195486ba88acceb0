//! Groups of core facts that cost a command on the host to read (WIT 0.2
//! `fact`), and sets of them: what a plugin declares it reads, and what a
//! gather read. The other core facts (hostname, OS, CPUs, boot id) are read
//! by the shell itself and are always there.

use serde::{Deserialize, Serialize};

/// One group of core facts and the command that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FactGroup {
    /// `kernel_release`, `arch`: `uname -r -m`.
    Kernel,
    /// `memory_mb`, `swap_total_mb`: `free -k`.
    Memory,
    /// `selinux`: `getenforce`.
    Selinux,
    /// `firewalld`: `systemctl show firewalld`.
    Firewalld,
    /// `modules`: `lsmod`.
    Modules,
    /// `sysctls`: `sysctl` of the selected keys.
    Sysctls,
    /// `primary_ipv4`: `ip -4 route get`.
    Network,
}

impl FactGroup {
    /// Every group, in the order the gather script reads them.
    pub const ALL: [FactGroup; 7] = [
        FactGroup::Kernel,
        FactGroup::Memory,
        FactGroup::Selinux,
        FactGroup::Firewalld,
        FactGroup::Modules,
        FactGroup::Sysctls,
        FactGroup::Network,
    ];

    /// The name in the WIT contract and in listings.
    pub fn name(self) -> &'static str {
        match self {
            FactGroup::Kernel => "kernel",
            FactGroup::Memory => "memory",
            FactGroup::Selinux => "selinux",
            FactGroup::Firewalld => "firewalld",
            FactGroup::Modules => "modules",
            FactGroup::Sysctls => "sysctls",
            FactGroup::Network => "network",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`FactGroup`]s.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FactSet(u8);

impl FactSet {
    /// No group.
    pub const EMPTY: FactSet = FactSet(0);

    /// Every group (what a contract 0.1 plugin gets, and a facts file holds).
    pub fn all() -> FactSet {
        FactGroup::ALL.into_iter().collect()
    }

    /// Whether `g` is in the set.
    pub fn contains(self, g: FactGroup) -> bool {
        self.0 & g.bit() != 0
    }

    /// Whether every group of `other` is in the set.
    pub fn covers(self, other: FactSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The groups of either set.
    pub fn union(self, other: FactSet) -> FactSet {
        FactSet(self.0 | other.0)
    }

    /// The groups of `self` not in `other`.
    pub fn minus(self, other: FactSet) -> FactSet {
        FactSet(self.0 & !other.0)
    }

    /// No group at all.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The groups, in [`FactGroup::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = FactGroup> {
        FactGroup::ALL.into_iter().filter(move |g| self.contains(*g))
    }
}

impl FromIterator<FactGroup> for FactSet {
    fn from_iter<I: IntoIterator<Item = FactGroup>>(iter: I) -> Self {
        FactSet(iter.into_iter().fold(0, |acc, g| acc | g.bit()))
    }
}

impl std::fmt::Debug for FactSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(FactGroup::name)).finish()
    }
}

impl Serialize for FactSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_cover_unite_and_subtract() {
        let a: FactSet = [FactGroup::Selinux, FactGroup::Firewalld].into_iter().collect();
        let b: FactSet = [FactGroup::Modules].into_iter().collect();
        assert!(FactSet::all().covers(a) && !a.covers(b) && a.covers(FactSet::EMPTY));
        assert_eq!(a.union(b).iter().collect::<Vec<_>>(), [FactGroup::Selinux, FactGroup::Firewalld, FactGroup::Modules]);
        assert_eq!(a.union(b).minus(a), b);
        assert_eq!(FactSet::all().iter().count(), 7);
        assert_eq!(format!("{a:?}"), r#"{"selinux", "firewalld"}"#);
    }
}
