//! Background work in `afisha serve`: the scheduler runs due jobs (email
//! delivery, rendered here, outside any write transaction) and the
//! recurring services (reminders, clean-up); `afisha jobs` inspects and
//! retries the queue. The queue's rules live in `service::jobs`.

pub mod cli;
pub mod scheduler;
