//! Queries of in-app notifications and recipients.

use crate::domain::error::DomainResult;
use crate::domain::time::Ts;

/// Who a notice goes to, as stored.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub email: String,
    pub full_name: String,
}

/// The notification queries a transaction offers.
pub trait NotificationStore {
    /// Email and name of an active (not deleted) user.
    fn recipient(&mut self, user_id: i64) -> DomainResult<Option<Recipient>>;
    /// Ids of active administrators, ascending.
    fn active_admin_ids(&mut self) -> DomainResult<Vec<i64>>;
    /// Appends an in-app notification.
    #[allow(clippy::too_many_arguments)]
    fn insert_in_app(
        &mut self,
        user_id: i64,
        kind: &str,
        title: &str,
        content: &str,
        cta_url: Option<&str>,
        cta_label: Option<&str>,
        now: Ts,
    ) -> DomainResult<()>;
}
