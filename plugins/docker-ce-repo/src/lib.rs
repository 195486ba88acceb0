//! The docker-ce yum repository, which the `docker` and `containerd`
//! plugins both write (containerd.io is published in Docker's repository).
//! One definition: two steps writing the same file with different text would
//! rewrite it on every run, each undoing the other.

use plait_sdk::prelude::*;

/// Where the definition goes by default.
pub const PATH: &str = "/etc/yum.repos.d/docker-ce.repo";

/// The three parameters every plugin writing the repository takes:
/// `repo_file`, `repo_baseurl`, `repo_gpgkey`.
pub fn params(info: PluginInfo) -> PluginInfo {
    info.param(param::string("repo_file", PATH, "where the repository definition goes"))
        .param(param::string(
            "repo_baseurl",
            "https://mirrors.aliyun.com/docker-ce/linux/centos/$releasever/$basearch/stable",
            "docker-ce mirror (containerd.io is published there too)",
        ))
        .param(param::string("repo_gpgkey", "https://mirrors.aliyun.com/docker-ce/linux/centos/gpg", "mirror signing key"))
        .probe("repo_file", "cat {repo_file}")
}

/// The file's text: Docker's `docker-ce-stable` section, from a mirror.
pub fn content(baseurl: &str, gpgkey: &str) -> String {
    format!("[docker-ce-stable]\nname=Docker CE Stable - $basearch\nbaseurl={baseurl}\nenabled=1\ngpgcheck=1\ngpgkey={gpgkey}\n")
}

/// Write the file unless the `repo_file` probe shows it already says this.
pub fn converge(
    ctx: &Context,
    path: &str,
    baseurl: &str,
    gpgkey: &str,
    actions: &mut Vec<Action>,
    done: &mut Vec<String>,
) -> Result<(), PluginError> {
    let want = content(baseurl, gpgkey);
    let have = ctx.probe("repo_file")?;
    if have.exit_code == 0 && have.stdout == want {
        done.push(format!("{path} is in place"));
    } else {
        actions.push(file::put(path, want).mode(0o644).summary("add the docker-ce repository").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plait_sdk::testing::ContextBuilder;

    struct Any;
    impl Plugin for Any {
        fn describe() -> PluginInfo {
            params(info("any", "0.1.0", "writes the docker-ce repository"))
        }
        fn plan(_: &Context) -> Result<Plan, PluginError> {
            Ok(Plan::nothing("-"))
        }
    }

    #[test]
    fn written_only_when_the_file_says_something_else() {
        let want = content("https://m/$basearch", "https://m/gpg");
        assert_eq!(
            want,
            "[docker-ce-stable]\nname=Docker CE Stable - $basearch\nbaseurl=https://m/$basearch\nenabled=1\ngpgcheck=1\ngpgkey=https://m/gpg\n"
        );
        for (probe, writes) in [((0, want.as_str()), false), ((0, "[docker-ce-stable]\n"), true), ((1, ""), true)] {
            let ctx = ContextBuilder::centos7("a").probe("repo_file", probe.0, probe.1).build::<Any>();
            let (mut actions, mut done) = (Vec::new(), Vec::new());
            converge(&ctx, PATH, "https://m/$basearch", "https://m/gpg", &mut actions, &mut done).unwrap();
            assert_eq!((actions.len(), done.len()), if writes { (1, 0) } else { (0, 1) }, "{probe:?}");
        }
    }
}
