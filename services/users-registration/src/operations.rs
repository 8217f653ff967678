//! users-registration's business operations: each is one transaction with the events it
//! publishes through the outbox, callable from a handler or a command alike.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::users::{self, StatusChange};
use crate::domain::{UserId, UserStatus};
use crate::events::{self, StatusChanged};

/// An analyst's decision on a `PENDING` user (seed 004): `status` (`APPROVED` or `REJECTED`)
/// with its reason, by `actor_id`, in one transaction with `users.user.approved` /
/// `users.user.rejected` (the notification dispatcher mails the user on it). A user who is not
/// `PENDING` any more, or does not exist, is told apart in the result; nothing is written then.
///
/// # Errors
/// Database errors (nothing is written then).
pub async fn decide_registration(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    status: UserStatus,
    reason: Option<&str>,
    actor_id: UserId,
    now: DateTime<Utc>,
) -> Result<StatusChange, diesel::result::Error> {
    conn.transaction::<_, diesel::result::Error, _>(async |c| {
        let outcome = users::change_status(c, user_id, status, reason, Some(actor_id), now).await?;
        if let StatusChange::Changed(_) = &outcome {
            let kind = if status == UserStatus::Approved {
                events::APPROVED
            } else {
                events::REJECTED
            };
            let data = StatusChanged {
                user_id,
                status,
                reason: reason.map(str::to_owned),
                timestamp: now,
            };
            events::OUTBOX.enqueue(c, kind, data, now).await?;
        }
        Ok(outcome)
    })
    .await
}
