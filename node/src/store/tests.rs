#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use hearth_protocol::{BlockEntry, BlockTarget, ChannelName, MessageId, PublicKey, Scope};
use libp2p::PeerId;

use super::*;
use crate::config::{ChannelRetention, Keep, Retention};

const CACHE: u64 = 4 * 1024 * 1024;

fn channel(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

fn id(n: u32) -> MessageId {
    MessageId::of(&n.to_be_bytes())
}

fn post(channel_name: &str, created_ms: u64, expires_ms: Option<u64>) -> StoredPost {
    StoredPost {
        bytes: format!("{channel_name}@{created_ms}").into_bytes(),
        channel: channel(channel_name),
        created_ms,
        expires_ms,
        received_ms: created_ms + 5,
        own: false,
    }
}

fn times(posts: &[(MessageId, StoredPost)]) -> Vec<u64> {
    posts.iter().map(|(_, p)| p.created_ms).collect()
}

/// Every key of one of the store's trees.
fn tree_keys(tree: &sled::Tree) -> Vec<Vec<u8>> {
    tree.iter().keys().map(|k| k.unwrap().to_vec()).collect()
}

/// The posts of a channel, with no retention limit.
fn list(
    store: &Store,
    channel: &ChannelName,
    since_ms: Option<u64>,
    limit: usize,
) -> Vec<(MessageId, StoredPost)> {
    store
        .channel_posts(channel, since_ms, limit, 0, Keep::FOREVER)
        .unwrap()
}

/// Node-wide retention of `max_age_ms` and `max_posts` per channel.
fn retention(max_age_ms: u64, max_posts: usize) -> Retention {
    Retention {
        max_age: Duration::from_millis(max_age_ms),
        max_posts_per_channel: max_posts,
        ..Retention::default()
    }
}

/// A whole sweep under [`retention`].
fn sweep(store: &Store, now_ms: u64, max_age_ms: u64, max_posts: usize) -> SweepStats {
    store
        .sweep(
            now_ms,
            &retention(max_age_ms, max_posts),
            &AtomicBool::new(false),
        )
        .unwrap()
}

fn open(dir: &Path) -> Store {
    Store::open(dir, CACHE).unwrap()
}

/// Opens a directory with sled directly, waiting out the lock that sled
/// releases just after a drop (what `Store::open` does itself).
fn open_raw(dir: &Path) -> sled::Db {
    open_waiting(&sled::Config::new().path(dir), dir).unwrap()
}

#[test]
fn a_reopened_store_has_everything_again() {
    let dir = tempfile::tempdir().unwrap();
    let grief = channel("grief/es");
    let moderator = PublicKey([3; 32]);
    let block =
        BlockEntry::new(BlockTarget::Keyword("spam".into()), "ads").in_channel(grief.clone());
    let persona = PersonaRecord {
        secret: [9; 32],
        created_ms: 77,
    };
    let peer = PeerId::random();
    let peer_record = PeerRecord {
        addresses: vec!["/ip4/10.0.0.1/tcp/4001".into()],
        last_seen_ms: 1234,
    };
    {
        let store = open(dir.path());
        assert!(
            store
                .insert_post(&id(1), &post("grief/es", 10, None))
                .unwrap()
        );
        assert!(
            store
                .insert_post(&id(2), &post("grief/es", 20, Some(99)))
                .unwrap()
        );
        store.put_persona(&grief, &persona).unwrap();
        assert!(store.add_block(&block).unwrap());
        store
            .follow(&moderator, &Scope::Channel(grief.clone()))
            .unwrap();
        store
            .put_moderator_list(&moderator, b"signed list")
            .unwrap();
        store.add_channel(&grief).unwrap();
        store.remember_peer(&peer, &peer_record).unwrap();
        store.set_peer_key(b"protobuf keypair").unwrap();
        store.add_pending(&grief, &id(2)).unwrap();
        assert!(store.mark_seen(&id(1), 500).unwrap());
        store.flush().unwrap();
    }
    let store = open(dir.path());
    assert_eq!(store.post_count(), 2);
    assert_eq!(
        list(&store, &grief, None, 10),
        vec![
            (id(1), post("grief/es", 10, None)),
            (id(2), post("grief/es", 20, Some(99)))
        ]
    );
    assert_eq!(store.persona(&grief).unwrap(), Some(persona.clone()));
    assert_eq!(store.personas().unwrap(), vec![(grief.clone(), persona)]);
    assert_eq!(store.blocklist().unwrap(), vec![block]);
    assert_eq!(
        store.follows().unwrap(),
        vec![(moderator, Scope::Channel(grief.clone()))]
    );
    assert_eq!(
        store.moderator_list(&moderator).unwrap(),
        Some(b"signed list".to_vec())
    );
    assert_eq!(store.channels().unwrap(), vec![grief.clone()]);
    assert_eq!(store.known_peers(10).unwrap(), vec![(peer, peer_record)]);
    assert_eq!(
        store.peer_key().unwrap(),
        Some(b"protobuf keypair".to_vec())
    );
    assert_eq!(store.pending(&grief).unwrap(), vec![id(2)]);
    assert_eq!(store.pending_count(), 1);
    assert!(store.is_seen(&id(1)).unwrap());
    assert_eq!(store.corrupt_records(), 0);
}

#[test]
fn a_second_open_of_the_same_directory_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());
    let err = Store::open(dir.path(), CACHE).unwrap_err();
    match &err {
        StoreError::InUse(path) => assert_eq!(path, dir.path()),
        other => panic!("expected InUse, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "the store at {} is in use by another hearth process",
            dir.path().display()
        )
    );
    // Once the first is gone (every clone), the directory opens again.
    let clone = first.clone();
    drop(first);
    assert!(matches!(
        Store::open(dir.path(), CACHE),
        Err(StoreError::InUse(_))
    ));
    drop(clone);
    open(dir.path());
}

#[test]
fn a_newer_schema_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = |db: &sled::Db| {
        let mut names = db.tree_names();
        names.sort();
        (names, db.checksum().unwrap())
    };
    let before = {
        let db = open_raw(dir.path());
        let meta = db.open_tree("meta").unwrap();
        meta.insert("schema", &2u32.to_be_bytes()).unwrap();
        db.open_tree("posts_v2").unwrap().insert("k", "v").unwrap();
        db.flush().unwrap();
        snapshot(&db)
    };
    let err = Store::open(dir.path(), CACHE).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NewerSchema {
                found: 2,
                supported: SCHEMA_VERSION
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer hearth"), "{err}");
    let db = open_raw(dir.path());
    assert_eq!(
        snapshot(&db),
        before,
        "no tree was added and no record changed"
    );
}

#[test]
fn a_database_that_is_not_a_hearth_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open_raw(dir.path());
        db.insert("something", "else").unwrap();
        db.flush().unwrap();
    }
    let err = Store::open(dir.path(), CACHE).unwrap_err();
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("is not a hearth store"), "{message}");
    assert!(message.contains("hearth schema version"), "{message}");
}

/// A store of `posts` posts in `dir`, flushed and closed.
fn filled(dir: &Path, posts: u32) {
    let store = open(dir);
    for n in 0..posts {
        let mut p = post("grief", u64::from(n), None);
        p.bytes = vec![7; 200];
        store.insert_post(&id(n), &p).unwrap();
    }
    store.flush().unwrap();
}

/// Everything in a directory, by name, with its bytes (directories as
/// empty).
fn snapshot_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap_or_default();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_truncated_or_garbled_store_is_refused_as_damaged_and_left_alone() {
    type Damage = fn(&Path);
    let cases: [(&str, Damage); 4] = [
        ("cut in half", |dir| {
            let db = std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("db"))
                .unwrap();
            let len = db.metadata().unwrap().len();
            db.set_len(len / 2).unwrap();
        }),
        ("emptied", |dir| {
            std::fs::write(dir.join("db"), b"").unwrap();
        }),
        // sled panics on this one while it opens.
        ("garbled at the start", |dir| {
            let mut bytes = std::fs::read(dir.join("db")).unwrap();
            for b in bytes.iter_mut().take(600) {
                *b ^= 0x5a;
            }
            std::fs::write(dir.join("db"), bytes).unwrap();
        }),
        ("with a garbled configuration", |dir| {
            std::fs::write(dir.join("conf"), b"not sled's").unwrap();
        }),
    ];
    for (what, damage) in cases {
        let dir = tempfile::tempdir().unwrap();
        filled(dir.path(), 2_000);
        damage(dir.path());
        let witness = std::fs::read(dir.path().join(WITNESS_FILE)).unwrap();
        // sled's own files, snapshots aside (sled writes one as it opens).
        let names = |dir: &Path| -> Vec<String> {
            snapshot_dir(dir)
                .into_iter()
                .map(|(name, _)| name)
                .filter(|name| !name.starts_with("snap."))
                .collect()
        };
        let before = names(dir.path());
        let err = Store::open(dir.path(), CACHE).unwrap_err();
        assert!(matches!(err, StoreError::Damaged { .. }), "{what}: {err:?}");
        let message = err.to_string();
        let shown = dir.path().display();
        assert!(
            message.starts_with(&format!("the store in {shown} is damaged (")),
            "{what}: {message}"
        );
        assert!(
            message.ends_with(&format!(
                "move it away to start fresh: mv {shown} {shown}.broken"
            )),
            "{what}: {message}"
        );
        // Never reset: sled's own recovery may blank what it could not
        // read, but hearth writes nothing, so it is refused again.
        assert_eq!(names(dir.path()), before, "{what}");
        assert_eq!(
            std::fs::read(dir.path().join(WITNESS_FILE)).unwrap(),
            witness,
            "{what}"
        );
        let again = Store::open(dir.path(), CACHE).unwrap_err();
        assert!(
            matches!(again, StoreError::Damaged { .. }),
            "{what}: {again:?}"
        );
    }
}

#[test]
fn a_damaged_store_is_refused_or_opens_whole_never_silently_short() {
    // Bytes flipped or the file cut at many places: sled recovers up to
    // the damage, and the witness tells whether saved writes are gone.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut refused, mut whole) = (0, 0);
    for case in 0..12 {
        let dir = tempfile::tempdir().unwrap();
        filled(dir.path(), 500);
        let path = dir.path().join("db");
        let mut bytes = std::fs::read(&path).unwrap();
        let at = usize::try_from(next() % bytes.len() as u64).unwrap();
        if case % 2 == 0 {
            bytes.truncate(at);
        } else {
            let end = (at + 32).min(bytes.len());
            for b in &mut bytes[at..end] {
                *b = next().to_le_bytes()[0];
            }
        }
        std::fs::write(&path, bytes).unwrap();
        match Store::open(dir.path(), CACHE) {
            Ok(store) => {
                assert_eq!(store.post_count(), 500, "case {case}: opened short");
                whole += 1;
            }
            Err(StoreError::Damaged { .. }) => refused += 1,
            Err(other) => panic!("case {case}: {other:?}"),
        }
    }
    assert!(refused > 0, "no case was damaged enough to refuse");
    eprintln!("{refused} refused, {whole} opened whole");
}

#[test]
fn a_directory_of_other_files_is_refused_and_not_written_to() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let err = Store::open(dir.path(), CACHE).unwrap_err();
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert_eq!(
        snapshot_dir(dir.path()),
        vec![("notes.txt".to_owned(), b"mine".to_vec())]
    );
    // A file where the directory should be.
    let file = dir.path().join("notes.txt");
    let err = Store::open(&file, CACHE).unwrap_err();
    assert!(err.to_string().contains("it is a file"), "{err}");
}

#[test]
fn a_store_from_before_the_witness_opens_and_gains_one() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 10);
    std::fs::remove_file(dir.path().join(WITNESS_FILE)).unwrap();
    let store = open(dir.path());
    assert_eq!(store.post_count(), 10);
    assert!(dir.path().join(WITNESS_FILE).is_file());
    drop(store);
    // Many flushes later it still opens: the witness never runs ahead.
    let store = open(dir.path());
    for n in 10..50 {
        store
            .insert_post(&id(n), &post("grief", u64::from(n), None))
            .unwrap();
        store.flush().unwrap();
    }
    drop(store);
    assert_eq!(open(dir.path()).post_count(), 50);
}

#[test]
fn channel_posts_are_the_newest_n_oldest_first_from_since() {
    let store = Store::temporary(CACHE).unwrap();
    let grief = channel("grief");
    // Inserted out of order, with neighbours whose names extend "grief".
    for t in [5u64, 1, 9, 3, 7, 2, 10, 4, 8, 6] {
        store
            .insert_post(&id(u32::try_from(t).unwrap()), &post("grief", t, None))
            .unwrap();
    }
    store
        .insert_post(&id(100), &post("grief-uk", 11, None))
        .unwrap();
    store
        .insert_post(&id(101), &post("grief/es", 12, None))
        .unwrap();
    store
        .insert_post(&id(102), &post("anxiety", 13, None))
        .unwrap();

    assert_eq!(times(&list(&store, &grief, None, 3)), [8, 9, 10]);
    assert_eq!(
        times(&list(&store, &grief, Some(5), 100)),
        [5, 6, 7, 8, 9, 10]
    );
    assert_eq!(times(&list(&store, &grief, Some(9), 1)), [10]);
    assert_eq!(times(&list(&store, &grief, Some(11), 10)), [] as [u64; 0]);
    assert!(list(&store, &grief, None, 0).is_empty());
    assert_eq!(
        list(&store, &channel("grief/es"), None, 10),
        vec![(id(101), post("grief/es", 12, None))]
    );
    assert_eq!(store.channel_post_count(&grief).unwrap(), 10);
    assert_eq!(store.post_count(), 13);
}

#[test]
fn a_post_is_stored_once() {
    let store = Store::temporary(CACHE).unwrap();
    assert!(store.insert_post(&id(1), &post("grief", 1, None)).unwrap());
    assert!(!store.insert_post(&id(1), &post("grief", 2, None)).unwrap());
    assert_eq!(
        store.get_post(&id(1)).unwrap(),
        Some(post("grief", 1, None))
    );
    assert_eq!(store.channel_post_count(&channel("grief")).unwrap(), 1);
    assert_eq!(store.post_count(), 1);
    assert!(store.contains_post(&id(1)).unwrap());
    assert!(!store.contains_post(&id(2)).unwrap());
    assert_eq!(store.get_post(&id(2)).unwrap(), None);
}

#[test]
fn sweep_removes_expired_too_old_and_over_count_and_nothing_else() {
    let store = Store::temporary(CACHE).unwrap();
    let now = 1_000_000;
    let max_age = 10_000;
    let (grief, anxiety) = (channel("grief"), channel("anxiety"));
    let keep = |store: &Store, n: u32, p: StoredPost| {
        assert!(store.insert_post(&id(n), &p).unwrap());
    };
    // grief: one expired now, one expiring later, one too old, three fine.
    keep(&store, 1, post("grief", now - 100, Some(now)));
    keep(&store, 2, post("grief", now - 100, Some(now + 1)));
    keep(&store, 3, post("grief", now - max_age - 1, None));
    keep(&store, 4, post("grief", now - max_age, None));
    keep(&store, 5, post("grief", now - 50, None));
    keep(&store, 6, post("grief", now - 40, None));
    // anxiety: five fine posts, two over the count of three.
    for n in 10..15 {
        keep(&store, n, post("anxiety", now - 1000 + u64::from(n), None));
    }
    // Pending marks on a deleted and on a kept own post.
    store.add_pending(&grief, &id(1)).unwrap();
    store.add_pending(&grief, &id(3)).unwrap();
    store.add_pending(&anxiety, &id(10)).unwrap();
    store.add_pending(&anxiety, &id(14)).unwrap();
    // Seen ids: one due, one later, one raised past now.
    assert!(store.mark_seen(&id(50), now).unwrap());
    assert!(store.mark_seen(&id(51), now + 1).unwrap());
    assert!(store.mark_seen(&id(52), now - 5).unwrap());
    assert!(!store.mark_seen(&id(52), now + 5).unwrap());
    assert!(!store.mark_seen(&id(52), 0).unwrap(), "never lowered");
    // Settings that the sweep must not touch.
    store.add_channel(&grief).unwrap();
    store
        .put_persona(
            &grief,
            &PersonaRecord {
                secret: [1; 32],
                created_ms: 0,
            },
        )
        .unwrap();

    let stats = sweep(&store, now, max_age, 3);

    assert_eq!(
        stats,
        SweepStats {
            expired: 1,
            too_old: 1,
            over_count: 3,
            seen_forgotten: 1,
            // In the order deleted: the expired post, then channel by
            // channel in name order.
            pending_deleted: vec![
                (grief.clone(), id(1)),
                (anxiety.clone(), id(10)),
                (grief.clone(), id(3))
            ],
            interrupted: false,
        }
    );
    // grief had 4 left after expiry and age (2, 4, 5, 6): the oldest, 4, went.
    assert_eq!(
        times(&list(&store, &grief, None, 100)),
        [now - 100, now - 50, now - 40]
    );
    let left: Vec<MessageId> = list(&store, &anxiety, None, 100)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(left, [id(12), id(13), id(14)]);
    assert_eq!(store.post_count(), 6);
    assert_eq!(tree_keys(&store.inner.posts).len(), 6);
    assert_eq!(
        tree_keys(&store.inner.by_channel).len(),
        6,
        "no dangling index entry"
    );
    assert_eq!(
        tree_keys(&store.inner.expiry),
        vec![keys::time_id(now + 1, &id(2)).to_vec()]
    );
    assert_eq!(store.pending(&grief).unwrap(), Vec::<MessageId>::new());
    assert_eq!(store.pending(&anxiety).unwrap(), vec![id(14)]);
    assert_eq!(store.pending_count(), 1);
    assert!(!store.is_seen(&id(50)).unwrap());
    assert!(store.is_seen(&id(51)).unwrap());
    assert!(store.is_seen(&id(52)).unwrap());
    assert_eq!(tree_keys(&store.inner.seen_expiry).len(), 2);
    assert_eq!(store.channels().unwrap(), vec![grief.clone()]);
    assert!(store.persona(&grief).unwrap().is_some());

    // A second sweep at the same time finds nothing more.
    assert_eq!(sweep(&store, now, max_age, 3), SweepStats::default());
}

#[test]
fn sweep_deletes_more_posts_than_one_transaction_holds() {
    let store = Store::temporary(CACHE).unwrap();
    let n = 3 * 256 + 17;
    for i in 0..n {
        // Half expire, all in one channel that may keep 100.
        let expires = (i % 2 == 1).then_some(50);
        store
            .insert_post(&id(i), &post("grief", 100 + u64::from(i), expires))
            .unwrap();
    }
    let stats = sweep(&store, 1000, 10_000, 100);
    let expired = n as usize / 2;
    assert_eq!(stats.expired, expired);
    assert_eq!(stats.over_count, n as usize - expired - 100);
    assert_eq!(store.post_count(), 100);
    assert_eq!(store.channel_post_count(&channel("grief")).unwrap(), 100);
    assert!(tree_keys(&store.inner.expiry).is_empty());
    let newest = list(&store, &channel("grief"), None, 1);
    assert_eq!(times(&newest), [100 + u64::from(n - 1)]);
}

#[test]
fn reads_never_return_what_the_sweep_would_delete_even_before_it_runs() {
    let store = Store::temporary(CACHE).unwrap();
    let now = 1_000_000;
    let (grief, anxiety) = (channel("grief"), channel("anxiety"));
    // grief keeps 4 posts for 10 s; anxiety only 2, for 1 s.
    let mut rules = retention(10_000, 4);
    rules.channels.insert(
        anxiety.clone(),
        ChannelRetention {
            max_age: Some(Duration::from_secs(1)),
            max_posts: Some(2),
        },
    );
    let mut n = 0;
    for (name, created, expires) in [
        ("grief", now - 20_000, None),         // too old
        ("grief", now - 9_000, None),          // over the count
        ("grief", now - 8_000, None),          // kept
        ("grief", now - 7_000, Some(now)),     // expired: does not count
        ("grief", now - 6_000, None),          // kept
        ("grief", now - 5_000, Some(now + 1)), // kept until it expires
        ("grief", now - 4_000, None),          // kept
        ("anxiety", now - 2_000, None),        // too old for anxiety
        ("anxiety", now - 900, None),          // over anxiety's count
        ("anxiety", now - 800, None),          // kept
        ("anxiety", now - 700, None),          // kept
    ] {
        n += 1;
        store
            .insert_post(&id(n), &post(name, created, expires))
            .unwrap();
    }
    let read = |channel: &ChannelName, since: Option<u64>, limit: usize| {
        let keep = rules.keep(channel);
        times(
            &store
                .channel_posts(channel, since, limit, now, keep)
                .unwrap(),
        )
    };
    let grief_kept = [now - 8_000, now - 6_000, now - 5_000, now - 4_000];
    let anxiety_kept = [now - 800, now - 700];
    assert_eq!(read(&grief, None, 100), grief_kept);
    assert_eq!(read(&anxiety, None, 100), anxiety_kept);
    // The count is the channel's, whatever `since` and `limit` leave out.
    assert_eq!(read(&grief, Some(now - 9_500), 100), grief_kept);
    assert_eq!(read(&grief, None, 2), [now - 5_000, now - 4_000]);
    let by_id: Vec<bool> = (1..=n)
        .map(|i| store.kept_post(&id(i), now, &rules).unwrap().is_some())
        .collect();
    assert_eq!(
        by_id,
        [
            false, false, true, false, true, true, true, false, false, true, true
        ]
    );

    // The sweep deletes exactly what the reads left out.
    let stats = store.sweep(now, &rules, &AtomicBool::new(false)).unwrap();
    assert_eq!(stats.posts(), 5, "{stats:?}");
    assert_eq!(times(&list(&store, &grief, None, 100)), grief_kept);
    assert_eq!(times(&list(&store, &anxiety, None, 100)), anxiety_kept);
    assert_eq!(store.post_count(), 6);
    // One millisecond on, the post with an expiry is gone for readers.
    let keep = rules.keep(&grief);
    let later = store
        .channel_posts(&grief, None, 100, now + 1, keep)
        .unwrap();
    assert_eq!(times(&later), [now - 8_000, now - 6_000, now - 4_000]);
    assert!(store.kept_post(&id(6), now + 1, &rules).unwrap().is_none());
}

#[test]
fn a_stopped_sweep_returns_early_and_the_next_one_finishes() {
    let store = Store::temporary(CACHE).unwrap();
    for i in 0..600 {
        store
            .insert_post(&id(i), &post("grief", u64::from(i), Some(1_000)))
            .unwrap();
    }
    assert!(store.mark_seen(&id(9_999), 10).unwrap());
    let rules = retention(1_000_000, 10_000);
    let stats = store.sweep(5_000, &rules, &AtomicBool::new(true)).unwrap();
    assert!(stats.interrupted, "{stats:?}");
    assert!(stats.expired < 600, "{stats:?}");
    assert!(store.is_seen(&id(9_999)).unwrap(), "seen ids wait too");
    let rest = store.sweep(5_000, &rules, &AtomicBool::new(false)).unwrap();
    assert!(!rest.interrupted);
    assert_eq!(stats.expired + rest.expired, 600);
    assert_eq!(store.post_count(), 0);
    assert!(!store.is_seen(&id(9_999)).unwrap());
}

#[test]
fn a_corrupt_post_is_skipped_and_the_rest_stays_readable() {
    let store = Store::temporary(CACHE).unwrap();
    let grief = channel("grief");
    for n in 1..=3 {
        store
            .insert_post(&id(n), &post("grief", u64::from(n), None))
            .unwrap();
    }
    store
        .inner
        .posts
        .insert(id(2).as_bytes(), &[0xff, 0xff, 0xff][..])
        .unwrap();
    // A valid post followed by garbage is corrupt too.
    let mut trailing = postcard::to_allocvec(&post("grief", 3, None)).unwrap();
    trailing.push(0);
    store
        .inner
        .posts
        .insert(id(3).as_bytes(), trailing)
        .unwrap();
    store.insert_post(&id(4), &post("grief", 4, None)).unwrap();

    assert_eq!(times(&list(&store, &grief, None, 10)), [1, 4]);
    // Corrupt records do not use up the limit.
    assert_eq!(times(&list(&store, &grief, None, 2)), [1, 4]);
    assert!(matches!(
        store.get_post(&id(2)),
        Err(StoreError::Corrupt(_))
    ));
    assert!(store.corrupt_records() >= 5);

    // Corrupt records in listings of settings are skipped as well.
    store.inner.personas.insert("grief", &[1u8][..]).unwrap();
    store
        .inner
        .personas
        .insert("NOT A CHANNEL", &[1u8][..])
        .unwrap();
    store
        .put_persona(
            &channel("anxiety"),
            &PersonaRecord {
                secret: [2; 32],
                created_ms: 1,
            },
        )
        .unwrap();
    assert_eq!(store.personas().unwrap().len(), 1);
    store.inner.peers.insert("not a peer id", &[][..]).unwrap();
    assert!(store.known_peers(10).unwrap().is_empty());

    // The sweep deletes the corrupt posts first, with their index entries,
    // when the channel is over its count.
    let stats = sweep(&store, 100, 1000, 2);
    assert_eq!(stats.over_count, 2);
    assert_eq!(times(&list(&store, &grief, None, 10)), [1, 4]);
    assert_eq!(tree_keys(&store.inner.by_channel).len(), 2);
    assert!(store.get_post(&id(2)).unwrap().is_none());
}

#[test]
fn a_temporary_store_leaves_nothing_on_disk() {
    let store = Store::temporary(CACHE).unwrap();
    let path = store.path().to_owned();
    store.insert_post(&id(1), &post("grief", 1, None)).unwrap();
    store
        .put_persona(
            &channel("grief"),
            &PersonaRecord {
                secret: [5; 32],
                created_ms: 1,
            },
        )
        .unwrap();
    store.flush().unwrap();
    assert!(
        path.join("db").is_file(),
        "the store lives in {}",
        path.display()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o700,
            "only this user may read persona secrets"
        );
    }
    let clone = store.clone();
    drop(store);
    assert!(path.exists(), "a clone keeps it alive");
    drop(clone);
    // Gone at once, not whenever sled's background threads let go.
    assert!(!path.exists(), "{} is still there", path.display());
}

#[cfg(unix)]
#[test]
fn a_new_store_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("hearth").join("store");
    let store = open(&dir);
    assert_eq!(store.path(), dir);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn known_peers_keep_the_most_recently_seen() {
    let store = Store::temporary(CACHE).unwrap();
    let peers: Vec<PeerId> = (0..MAX_KNOWN_PEERS + 4).map(|_| PeerId::random()).collect();
    for (i, peer) in peers.iter().enumerate() {
        let record = PeerRecord {
            addresses: vec![format!("/ip4/10.0.0.{}/tcp/1", i % 250)],
            last_seen_ms: 1000 + i as u64,
        };
        store.remember_peer(peer, &record).unwrap();
    }
    // Seeing an old peer again keeps it.
    let refreshed = PeerRecord {
        addresses: vec![],
        last_seen_ms: 99_999,
    };
    store.remember_peer(&peers[0], &refreshed).unwrap();

    let known = store.known_peers(usize::MAX).unwrap();
    assert_eq!(known.len(), MAX_KNOWN_PEERS);
    assert_eq!(known[0], (peers[0], refreshed));
    assert_eq!(known[1].0, *peers.last().unwrap());
    // Peers 0 to 3 went when 256 to 259 came; 4 went when 0 came back.
    let dropped = &peers[1..=4];
    assert!(known.iter().all(|(p, _)| !dropped.contains(p)));
    assert!(known.iter().any(|(p, _)| *p == peers[5]));
    assert_eq!(store.known_peers(2).unwrap().len(), 2);
}

#[test]
fn blocklist_and_follows_report_what_changed() {
    let store = Store::temporary(CACHE).unwrap();
    let entry = BlockEntry::new(BlockTarget::Persona(PublicKey([1; 32])), "spam");
    assert!(store.add_block(&entry).unwrap());
    assert!(!store.add_block(&entry).unwrap());
    assert!(store.remove_block(&entry).unwrap());
    assert!(!store.remove_block(&entry).unwrap());
    assert!(store.blocklist().unwrap().is_empty());

    let moderator = PublicKey([2; 32]);
    store.follow(&moderator, &Scope::All).unwrap();
    store.put_moderator_list(&moderator, b"v1").unwrap();
    assert!(store.unfollow(&moderator).unwrap());
    assert_eq!(store.moderator_list(&moderator).unwrap(), None);
    assert!(store.follows().unwrap().is_empty());
    assert!(!store.unfollow(&moderator).unwrap());

    let grief = channel("grief");
    store.add_channel(&grief).unwrap();
    assert!(store.remove_channel(&grief).unwrap());
    assert!(!store.remove_channel(&grief).unwrap());
}

#[test]
fn pending_posts_come_oldest_first_per_channel() {
    let store = Store::temporary(CACHE).unwrap();
    let grief = channel("grief");
    for (n, t) in [(1, 30), (2, 10), (3, 20)] {
        store.insert_post(&id(n), &post("grief", t, None)).unwrap();
        store.add_pending(&grief, &id(n)).unwrap();
    }
    store.add_pending(&channel("grief-uk"), &id(9)).unwrap();
    assert_eq!(store.pending(&grief).unwrap(), vec![id(2), id(3), id(1)]);
    store.remove_pending(&grief, &id(3)).unwrap();
    assert_eq!(store.pending(&grief).unwrap(), vec![id(2), id(1)]);
    assert_eq!(store.pending_count(), 3);
    assert!(store.remove_post(&id(2)).unwrap());
    assert_eq!(store.pending(&grief).unwrap(), vec![id(1)]);
    assert_eq!(store.post_count(), 2);
}

#[test]
fn a_post_inserted_as_seen_is_stored_and_seen_once() {
    let store = Store::temporary(CACHE).unwrap();
    let stored = post("grief", 1, None);
    assert!(store.insert_seen_post(&id(1), &stored, 5_000).unwrap());
    assert!(store.contains_post(&id(1)).unwrap());
    assert!(store.is_seen(&id(1)).unwrap());
    assert!(!store.insert_seen_post(&id(1), &stored, 6_000).unwrap());
    assert_eq!(store.post_count(), 1);
    // The later seen mark replaced the earlier: the sweep forgets it at
    // its own time, as after `mark_seen`.
    assert!(!store.mark_seen(&id(1), 6_000).unwrap());
    assert!(store.mark_seen(&id(2), 6_000).unwrap());
}

#[test]
fn persona_debug_hides_the_secret() {
    let record = PersonaRecord {
        secret: [0xab; 32],
        created_ms: 1,
    };
    let shown = format!("{record:?}");
    assert!(!shown.contains("171") && !shown.contains("ab"), "{shown}");
}

#[tokio::test]
async fn flush_async_completes_and_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let store = Store::temporary(CACHE).unwrap();
    store.insert_post(&id(1), &post("grief", 1, None)).unwrap();
    let flushing = store.flush_async();
    assert_send(&flushing);
    flushing.await.unwrap();
}

/// A stored post of `channel` signed by `author`, written `created_ms`
/// and stored `received_ms`.
fn signed(
    author: &hearth_protocol::Keypair,
    channel_name: &str,
    text: &str,
    created_ms: u64,
    received_ms: u64,
    own: bool,
) -> (MessageId, StoredPost) {
    let signed = hearth_protocol::PostDraft::new(channel(channel_name), text, created_ms)
        .sign(author, &hearth_protocol::NetworkId::default(), 0)
        .unwrap();
    let post = StoredPost {
        bytes: signed.bytes,
        channel: channel(channel_name),
        created_ms,
        expires_ms: None,
        received_ms,
        own,
    };
    (signed.id, post)
}

#[test]
fn a_count_flood_from_fresh_personas_evicts_itself_not_the_channels_history() {
    const HOUR: u64 = 60 * 60 * 1000;
    let now = crate::clock::now_ms();
    let grief = channel("grief");
    let rules = retention(u64::MAX / 2, 60);
    let key = |n: u8| hearth_protocol::Keypair::from_secret_bytes([n; 32]);
    // The channel's history, hours old: established people and the node's
    // own user (its replies among them).
    let add_history = |store: &Store| {
        let mut history = Vec::new();
        for n in 0..30u64 {
            let (id, post) = signed(
                &key(1 + u8::try_from(n % 3).unwrap()),
                "grief",
                &format!("line {n}"),
                now - 3 * HOUR + n,
                now - 3 * HOUR + n,
                false,
            );
            assert!(store.insert_post(&id, &post).unwrap());
            history.push(id);
        }
        for n in 0..10u64 {
            let (id, post) = signed(
                &key(9),
                "grief",
                &format!("my reply {n}"),
                now - 2 * HOUR + n,
                now - 2 * HOUR + n,
                true,
            );
            assert!(store.insert_post(&id, &post).unwrap());
            history.push(id);
        }
        history
    };
    // Then 300 short posts, each from a fresh persona, just now.
    let flood = |store: &Store| {
        for n in 0..300u32 {
            let mut secret = [0x55; 32];
            secret[..4].copy_from_slice(&n.to_be_bytes());
            let author = hearth_protocol::Keypair::from_secret_bytes(secret);
            let (id, post) = signed(&author, "grief", "spam", now - 1000, now - 1000, false);
            assert!(store.insert_post(&id, &post).unwrap());
        }
    };

    // On insert, with the store's budget set.
    let store = Store::temporary(CACHE).unwrap();
    store.set_channel_budget(&rules);
    let history = add_history(&store);
    flood(&store);
    let count = store.channel_post_count(&grief).unwrap();
    assert!(count <= 60, "{count} posts stored, cap 60");
    for id in &history {
        assert!(store.contains_post(id).unwrap(), "history post deleted");
    }

    // By the sweep, on a store without a budget: the same order.
    let store = Store::temporary(CACHE).unwrap();
    let history = add_history(&store);
    flood(&store);
    let stats = store.sweep(now, &rules, &AtomicBool::new(false)).unwrap();
    assert_eq!(stats.over_count, 40 + 300 - 60);
    assert_eq!(store.channel_post_count(&grief).unwrap(), 60);
    for id in &history {
        assert!(store.contains_post(id).unwrap(), "history post deleted");
    }
}
