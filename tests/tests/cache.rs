//! The compiled-component cache is loaded as native code, so it must not be
//! a way around the sha256 pin: entries are bound to the component they
//! were compiled from, and only the user's own, private entries are used.

use plait::plugin::{CacheOutcome, ComponentCache, Limits, LoadedPlugin, Runtime, sha256_hex};
use plait_tests::plugin_path;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn runtime(cache: &Path) -> Runtime {
    Runtime::new(ComponentCache::at(cache), Limits::default()).expect("runtime")
}

/// The cache entry of the component at `wasm`.
fn entry(cache: &Path, wasm: &Path) -> PathBuf {
    let sha = sha256_hex(&std::fs::read(wasm).unwrap());
    let dir = std::fs::read_dir(cache.join("components")).unwrap().next().expect("an engine folder").unwrap().path();
    dir.join(format!("{sha}.cwasm"))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn another_components_entry_planted_in_a_plugins_slot_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let (os_prep, bridge) = (plugin_path("os-prep"), plugin_path("bridge-net"));
    let rt = runtime(&cache);
    assert_eq!(LoadedPlugin::load(&rt, &os_prep, None).unwrap().cache, CacheOutcome::Compiled);
    assert_eq!(LoadedPlugin::load(&rt, &bridge, None).unwrap().cache, CacheOutcome::Compiled);
    assert_eq!(LoadedPlugin::load(&runtime(&cache), &bridge, None).unwrap().cache, CacheOutcome::Hit, "an honest entry is used");

    // os-prep's compiled code copied into bridge-net's slot.
    std::fs::copy(entry(&cache, &os_prep), entry(&cache, &bridge)).unwrap();
    let p = LoadedPlugin::load(&runtime(&cache), &bridge, None).unwrap();
    assert_eq!(p.cache, CacheOutcome::Compiled, "the planted entry was not used");
    assert_eq!(p.info.name, "bridge-net", "bridge-net's own code runs");
    // And the slot holds bridge-net's entry again.
    assert_eq!(LoadedPlugin::load(&runtime(&cache), &bridge, None).unwrap().cache, CacheOutcome::Hit);
}

#[test]
fn the_cache_is_private_and_entries_others_can_write_are_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let wasm = plugin_path("os-prep");
    LoadedPlugin::load(&runtime(&cache), &wasm, None).unwrap();
    let e = entry(&cache, &wasm);
    assert_eq!(mode(&e), 0o600, "entries are the user's alone");
    assert_eq!(mode(e.parent().unwrap()), 0o700);
    assert_eq!(mode(&cache.join("components")), 0o700);

    // An entry anyone may write is not trusted.
    std::fs::set_permissions(&e, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(LoadedPlugin::load(&runtime(&cache), &wasm, None).unwrap().cache, CacheOutcome::Compiled);
    assert_eq!(mode(&e), 0o600, "replaced by a private one");
    // Nor one in a folder anyone may write to.
    std::fs::set_permissions(e.parent().unwrap(), std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(LoadedPlugin::load(&runtime(&cache), &wasm, None).unwrap().cache, CacheOutcome::Compiled);
    assert_eq!(mode(e.parent().unwrap()), 0o700, "narrowed again");
}

#[test]
fn an_entry_without_its_binding_or_with_a_changed_artifact_is_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let wasm = plugin_path("os-prep");
    LoadedPlugin::load(&runtime(&cache), &wasm, None).unwrap();
    let e = entry(&cache, &wasm);
    let good = std::fs::read(&e).unwrap();
    // One byte of the artifact changed.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    std::fs::write(&e, &bad).unwrap();
    assert_eq!(LoadedPlugin::load(&runtime(&cache), &wasm, None).unwrap().cache, CacheOutcome::Compiled);
    // A bare artifact (an entry of an older plait, or planted): no header.
    let header_end = good.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(2).unwrap().0 + 1;
    std::fs::write(&e, &good[header_end..]).unwrap();
    assert_eq!(LoadedPlugin::load(&runtime(&cache), &wasm, None).unwrap().cache, CacheOutcome::Compiled);
    assert_eq!(LoadedPlugin::load(&runtime(&cache), &wasm, None).unwrap().cache, CacheOutcome::Hit);
}

#[test]
fn an_entry_rebuilt_with_a_matching_checksum_by_someone_without_the_key_is_refused() {
    // What whoever can write the user's cache (a CI cache restored from a
    // fork's run) can forge: another component's artifact under a header
    // naming this component, with any checksum it likes. 9b41850's
    // checksum header accepted it; the MAC needs the key outside the cache.
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let (os_prep, bridge) = (plugin_path("os-prep"), plugin_path("bridge-net"));
    LoadedPlugin::load(&runtime(&cache), &os_prep, None).unwrap();
    LoadedPlugin::load(&runtime(&cache), &bridge, None).unwrap();
    let key = cache.with_extension("key");
    assert_eq!(mode(&key), 0o600, "the key is private");
    assert!(!key.starts_with(&cache), "the key is not in the cache");

    let theirs = std::fs::read(entry(&cache, &os_prep)).unwrap();
    let header_end = theirs.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(2).unwrap().0 + 1;
    let code = &theirs[header_end..];
    let bridge_sha = sha256_hex(&std::fs::read(&bridge).unwrap());
    for tag in [sha256_hex(code), "00".repeat(32)] {
        let mut forged = format!("plait-cwasm-2\n{bridge_sha}\n{tag}\n").into_bytes();
        forged.extend_from_slice(code);
        std::fs::write(entry(&cache, &bridge), &forged).unwrap();
        let p = LoadedPlugin::load(&runtime(&cache), &bridge, None).unwrap();
        assert_eq!((p.cache, p.info.name.as_str()), (CacheOutcome::Compiled, "bridge-net"), "the forged entry was not used");
    }
    // Another user's key (a different key file) does not verify this one's entries.
    std::fs::write(&key, [7u8; 32]).unwrap();
    assert_eq!(LoadedPlugin::load(&runtime(&cache), &bridge, None).unwrap().cache, CacheOutcome::Compiled);
    assert_eq!(LoadedPlugin::load(&runtime(&cache), &bridge, None).unwrap().cache, CacheOutcome::Hit);
}
