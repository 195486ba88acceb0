//! Bundled manifests are the upstream files, unmodified: the sha256 recorded
//! in each assets README (next to the file's source) must match the file.

use plait_tests::repo_root;
use std::process::Command;

#[test]
fn the_bundled_flannel_manifest_is_the_upstream_file() {
    let dir = repo_root().join("plugins/flannel/assets");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let recorded =
        readme.lines().find_map(|l| l.strip_prefix("- sha256: `")).and_then(|l| l.split('`').next()).expect("the README records a sha256");
    let out = Command::new("sha256sum").arg(dir.join("flannel-v0.17.0.yaml")).output().expect("sha256sum");
    let actual = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or("").to_string();
    assert_eq!(actual, recorded, "flannel-v0.17.0.yaml differs from the file recorded in its README");
    assert!(readme.contains("at tag `v0.17.0`"), "the README names the source tag");
    // What the plugin and the simulator rely on.
    let manifest = std::fs::read_to_string(dir.join("flannel-v0.17.0.yaml")).unwrap();
    assert!(manifest.contains("  name: kube-flannel-ds\n  namespace: kube-system\n"), "v0.17.0 deploys into kube-system");
    assert!(manifest.contains("image: rancher/mirrored-flannelcni-flannel:v0.16.3"), "flannel#1561: v0.16.3's image");
}
