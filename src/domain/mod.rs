//! Pure rules of the portal: no I/O, no clock reads (time is always an argument), no HTTP or SQL.

pub mod clients;
pub mod licensing;
pub mod lifecycle;
pub mod months;
pub mod tenancy;
pub mod units;
pub mod validation;
