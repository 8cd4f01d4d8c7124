//! Password hashing gives its working memory back: after a series of argon2id hashes the
//! process is no larger than after the first. Its own test binary, so that no other test
//! allocates beside it while resident memory is read.

#![cfg(target_os = "linux")]

use phial_login::password::{PasswordConfig, PasswordHasher};

/// Resident memory of this process in bytes, from `/proc/self/statm` (pages of 4 KiB).
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux has /proc/self/statm");
    let pages: u64 =
        statm.split_whitespace().nth(1).and_then(|field| field.parse().ok()).expect("statm's second field");
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn hashing_does_not_keep_its_working_memory() {
    const MEMORY_KIB: u32 = 16 * 1024;
    let hasher = PasswordHasher::new(PasswordConfig::default().with_argon2(MEMORY_KIB, 1, 1).with_max_concurrent(1))
        .expect("valid parameters");
    // The first hash warms up everything else (the blocking pool's thread, its arena).
    let stored = hasher.hash("first").await.expect("hash");
    let after_first = resident();
    for round in 0..4 {
        let stored_now = hasher.hash(&format!("password {round}")).await.expect("hash");
        assert!(hasher.verify(&format!("password {round}"), &stored_now).await.expect("verify").is_match());
    }
    assert!(hasher.verify("first", &stored).await.expect("verify").is_match());
    let growth = resident().saturating_sub(after_first);
    // glibc keeps a freed block in its arena once its mmap threshold has grown to the block's
    // size: then the process stays at least 16 MiB larger. Given back, growth is noise.
    assert!(
        growth < u64::from(MEMORY_KIB) * 1024 / 2,
        "resident memory grew by {} KiB over nine hashes of {MEMORY_KIB} KiB each",
        growth / 1024
    );
}
