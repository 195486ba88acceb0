//! Sample core facts: what a fresh CentOS 7.9 minimal install reports, for
//! facts templates (`plait facts --template`) written before any host exists.

use super::{HostFacts, ServiceState};
use std::collections::BTreeMap;

/// What a fresh CentOS 7.9 minimal install reports, named after `host`.
pub fn centos7(host: &str, address: &str) -> HostFacts {
    HostFacts {
        hostname: "localhost.localdomain".into(),
        os_id: "centos".into(),
        os_version: "7".into(),
        os_release: "CentOS Linux release 7.9.2009 (Core)".into(),
        os_family: "rhel".into(),
        kernel_release: "3.10.0-1160.el7.x86_64".into(),
        arch: "x86_64".into(),
        cpus: 2,
        memory_mb: 3789,
        swap_total_mb: 2047,
        selinux: "enforcing".into(),
        firewalld: ServiceState { installed: true, active: true, enabled: true },
        modules: Vec::new(),
        sysctls: BTreeMap::new(),
        primary_ipv4: address.parse::<std::net::Ipv4Addr>().ok().map(|a| a.to_string()),
        boot_id: format!(
            "00000000-0000-4000-8000-{:012x}",
            host.bytes().fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b))) & 0xffff_ffff_ffff
        ),
        gathered: crate::model::FactSet::all(),
    }
}
