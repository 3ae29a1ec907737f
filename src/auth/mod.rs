//! Who is asking: passwords, sessions, the CSRF check and the extractors handlers use.

pub mod csrf;
pub mod current_user;
pub mod impersonation;
pub mod passwords;
pub mod sessions;
pub mod throttle;
pub mod two_factor;

pub use current_user::{CurrentUser, Flash};
