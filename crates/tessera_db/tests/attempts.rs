//! `tessera_db::attempts` on the real server: counting, locking, windows, concurrency.

#![expect(clippy::unwrap_used, reason = "test code")]
#![expect(clippy::disallowed_methods, reason = "tests run in real time")]

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use tessera_db::attempts::{self, MIGRATIONS, Policy};
use tessera_db::testing::TestDatabase;

const POLICY: Policy = Policy {
    max_failures: 3,
    window: Duration::from_secs(60),
    lockout: Duration::from_secs(300),
};

/// A fresh database with `login_attempts`, and a connection to it.
async fn fresh() -> (TestDatabase, AsyncPgConnection) {
    let db = TestDatabase::new("attempts", &[MIGRATIONS]).await.unwrap();
    let c = AsyncPgConnection::establish(db.url()).await.unwrap();
    (db, c)
}

/// Counts one failure of `key` at `at`: the seconds it is now locked for, if it is.
async fn fail(c: &mut AsyncPgConnection, key: &str, at: DateTime<Utc>) -> Option<u64> {
    attempts::record_failure(c, key, POLICY, at).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_nth_failure_locks_the_key_for_the_lockout_and_a_success_clears_it() {
    let (_db, mut c) = fresh().await;
    let now = Utc::now();
    assert_eq!(
        attempts::locked(&mut c, &["account:a"], now).await.unwrap(),
        None
    );
    assert_eq!(fail(&mut c, "account:a", now).await, None);
    assert_eq!(fail(&mut c, "account:a", now).await, None);
    assert_eq!(
        fail(&mut c, "account:a", now).await,
        Some(300),
        "third failure locks"
    );
    // Locked for both keys of a request when either is; other keys are untouched.
    let later = now + TimeDelta::seconds(100);
    let both = ["account:a", "addr:1.2.3.4"];
    assert_eq!(
        attempts::locked(&mut c, &both, later).await.unwrap(),
        Some(200)
    );
    assert_eq!(
        attempts::locked(&mut c, &["account:b"], later)
            .await
            .unwrap(),
        None
    );
    // Failures while locked do not extend the lock.
    assert_eq!(fail(&mut c, "account:a", later).await, Some(200));
    // After the lockout the key is open and counts afresh; a success clears the count.
    let after = now + TimeDelta::seconds(301);
    assert_eq!(
        attempts::locked(&mut c, &["account:a"], after)
            .await
            .unwrap(),
        None
    );
    assert_eq!(fail(&mut c, "account:a", after).await, None);
    attempts::clear(&mut c, "account:a").await.unwrap();
    assert_eq!(fail(&mut c, "account:a", after).await, None);
    assert_eq!(fail(&mut c, "account:a", after).await, None);
    assert!(fail(&mut c, "account:a", after).await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_older_than_the_window_do_not_count() {
    let (_db, mut c) = fresh().await;
    let t0 = Utc::now();
    fail(&mut c, "addr:x", t0).await;
    fail(&mut c, "addr:x", t0).await;
    let t1 = t0 + TimeDelta::seconds(61);
    assert_eq!(fail(&mut c, "addr:x", t1).await, None);
    assert_eq!(fail(&mut c, "addr:x", t1).await, None);
    assert!(fail(&mut c, "addr:x", t1).await.is_some());
    let purged = attempts::purge(&mut c, TimeDelta::seconds(1), t1 + TimeDelta::seconds(400))
        .await
        .unwrap();
    assert_eq!(purged, 1);
}

/// Twenty failures at once from separate connections (as from several replicas) all count:
/// the key ends locked, and exactly the failure that reached the limit locked it.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_failures_all_count() {
    let db = TestDatabase::new("attempts", &[MIGRATIONS]).await.unwrap();
    let policy = Policy {
        max_failures: 20,
        ..POLICY
    };
    let now = Utc::now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let url = db.url().to_owned();
            tokio::spawn(async move {
                let mut c = AsyncPgConnection::establish(&url).await.unwrap();
                attempts::record_failure(&mut c, "account:race", policy, now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut locked_by = 0;
    for t in tasks {
        if t.await.unwrap().is_some() {
            locked_by += 1;
        }
    }
    assert_eq!(locked_by, 1, "only the 20th failure locks");
    let mut c = AsyncPgConnection::establish(db.url()).await.unwrap();
    assert!(
        attempts::locked(&mut c, &["account:race"], now)
            .await
            .unwrap()
            .is_some()
    );
}
