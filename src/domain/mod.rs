//! Pure rules of the portal: no I/O, no clock reads (time is always an argument), no HTTP or SQL.

pub mod email;
pub mod forecast;
pub mod invoicing;
pub mod licensing;
pub mod lifecycle;
pub mod months;
pub mod pacing;
pub mod sla;
pub mod space;
pub mod tenancy;
pub mod throttling;
pub mod totp;
pub mod units;
pub mod validation;
