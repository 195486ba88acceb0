//! `elrepo-kernel`: the tutorial's "更新内核" section. When the running
//! kernel is older than `min_version`: import the ELRepo key, install
//! elrepo-release, install kernel-ml from the elrepo-kernel repo (the
//! tutorial's `yum -y enablerepo=...` lacks its `--`), boot it by default
//! (`GRUB_DEFAULT=0`, grub2-mkconfig), reboot, and verify the new kernel.
//!
//! ELRepo has retired el7 (its packages moved to an archive), so the
//! repository can instead be given by `repo_baseurl`: the plugin then writes
//! that repository itself (disabled, enabled only for the install, as
//! elrepo-release's elrepo-kernel repo is) and needs no elrepo-release.

use plait_sdk::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    min_version: String,
    key_url: String,
    release_url: String,
    package: String,
    repo: String,
    repo_baseurl: String,
    grub_cfg: String,
    reboot_timeout: i64,
}

struct ElrepoKernel;

impl Plugin for ElrepoKernel {
    fn describe() -> PluginInfo {
        info("elrepo-kernel", env!("CARGO_PKG_VERSION"), "a mainline kernel from ELRepo, booted by default")
            .param(param::string("min_version", "4.19", "nothing to do when the running kernel is at least this"))
            .param(param::string("key_url", "https://www.elrepo.org/RPM-GPG-KEY-elrepo.org", "ELRepo signing key"))
            .param(param::string(
                "release_url",
                "https://www.elrepo.org/elrepo-release-7.0-4.el7.elrepo.noarch.rpm",
                "elrepo-release package",
            ))
            .param(param::string("package", "kernel-ml", "kernel package (kernel-ml: mainline, kernel-lt: long term)"))
            .param(param::string("repo", "elrepo-kernel", "repository holding the kernel"))
            .param(param::string(
                "repo_baseurl",
                "",
                "base URL of that repository (e.g. a mirror of ELRepo's el7 archive); default: the one elrepo-release installs",
            ))
            .param(param::string(
                "grub_cfg",
                "",
                "grub configuration to regenerate (default: where the firmware reads it, /boot/grub2/grub.cfg or, on UEFI, /boot/efi/EFI/centos/grub.cfg)",
            ))
            .param(param::integer("reboot_timeout", 600, "seconds to wait for the host to come back"))
            .probe("elrepo_release", "rpm -q elrepo-release")
            .probe("kernel_package", "rpm -q {package}")
            .probe("repo_file", "cat /etc/yum.repos.d/plait-kernel.repo")
            .probe("grub_default", "grep -E '^GRUB_DEFAULT=' /etc/default/grub")
            // UEFI firmware exposes /sys/firmware/efi; CentOS 7's grub2-efi-x64
            // then reads /boot/efi/EFI/centos/grub.cfg, and /boot/grub2/grub.cfg
            // is not used at boot (RHEL 7 System Administrator's Guide, "Working
            // with GRUB 2": grub2-mkconfig -o /boot/efi/EFI/redhat/grub.cfg).
            .probe_script("firmware", "if [ -d /sys/firmware/efi ]; then echo efi; else echo bios; fi", "")
            .facts([Fact::Kernel])
            .programs(["rpm", "yum", "sed", "grub2-mkconfig"])
            .writes(["/etc/yum.repos.d/plait-kernel.repo"])
            .reads(["/etc/yum.repos.d/plait-kernel.repo"])
            .shell()
            .reboots()
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        ctx.require_os_family("rhel", "elrepo-kernel")?;
        let p: Params = ctx.params()?;
        if version::numeric_parts(&p.min_version).is_empty() {
            return Err(PluginError::bad_params(format!("min_version {:?} is not a version", p.min_version)));
        }
        let running = ctx.kernel_release()?;
        if version::at_least(running, &p.min_version) {
            return Ok(Plan::nothing(format!("running kernel {running} is at least {}", p.min_version)));
        }
        let timeout = u32::try_from(p.reboot_timeout)
            .ok()
            .filter(|t| (1..=3600).contains(t))
            .ok_or_else(|| PluginError::bad_params("reboot_timeout must be 1..=3600"))?;
        let mut actions: Vec<Action> = Vec::new();
        if !p.repo_baseurl.is_empty() {
            if !p.repo_baseurl.starts_with("https://") && !p.repo_baseurl.starts_with("http://") && !p.repo_baseurl.starts_with("file://") {
                return Err(PluginError::bad_params(format!("repo_baseurl {:?} is not an http(s) or file URL", p.repo_baseurl)));
            }
            if p.repo.is_empty() || !p.repo.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                return Err(PluginError::bad_params(format!("repo {:?} is not a repository id", p.repo)));
            }
            let repo = format!(
                "[{}]\nname={} (plait elrepo-kernel)\nbaseurl={}\nenabled=0\ngpgcheck=1\ngpgkey={}\n",
                p.repo, p.repo, p.repo_baseurl, p.key_url
            );
            let current = ctx.probe("repo_file")?;
            if current.exit_code != 0 || current.stdout != repo {
                actions.push(
                    file::put("/etc/yum.repos.d/plait-kernel.repo", repo)
                        .mode(0o644)
                        .summary(format!("add the {} repository ({})", p.repo, p.repo_baseurl))
                        .into(),
                );
            }
        } else if !ctx.probe_ok("elrepo_release")? {
            actions.push(cmd::run(["rpm", "--import", p.key_url.as_str()]).summary("import the ELRepo signing key").into());
            actions.push(cmd::run(["rpm", "-Uvh", p.release_url.as_str()]).summary("install elrepo-release").into());
        }
        if !ctx.probe_ok("kernel_package")? {
            let enable = format!("--enablerepo={}", p.repo);
            actions.push(
                cmd::run(["yum", "-y", enable.as_str(), "install", p.package.as_str()])
                    .timeout_secs(1800)
                    .summary(format!("install {} from {}", p.package, p.repo))
                    .into(),
            );
        }
        if ctx.probe("grub_default")?.stdout.trim() != "GRUB_DEFAULT=0" {
            actions.push(
                cmd::run(["sed", "-i", "s/^GRUB_DEFAULT=.*/GRUB_DEFAULT=0/", "/etc/default/grub"])
                    .summary("boot the newest kernel by default (GRUB_DEFAULT=0)")
                    .into(),
            );
        }
        let grub_cfg = match (p.grub_cfg.as_str(), ctx.probe("firmware")?.stdout.trim()) {
            // The EFI vendor directory: centos on CentOS, redhat on RHEL.
            ("", "efi") => {
                format!("/boot/efi/EFI/{}/grub.cfg", if ctx.facts.os_id == "rhel" { "redhat" } else { ctx.facts.os_id.as_str() })
            }
            ("", _) => "/boot/grub2/grub.cfg".to_string(),
            (path, _) => path.to_string(),
        };
        actions.push(cmd::run(["grub2-mkconfig", "-o", grub_cfg.as_str()]).summary(format!("regenerate {grub_cfg}")).into());
        actions.push(reboot::host(timeout));
        let check = format!(
            "v=$(uname -r); printf '%s\\n%s\\n' {} \"$v\" | sort -V -C || {{ echo \"running kernel $v is older than {}\" >&2; exit 1; }}",
            shell::quote(&p.min_version),
            p.min_version.replace(['"', '$', '`', '\\'], "")
        );
        actions.push(
            cmd::script(check).as_user().read_only().summary(format!("verify the running kernel is at least {}", p.min_version)).into(),
        );
        Ok(Plan::from(actions))
    }
}

register_plugin!(ElrepoKernel);
