//! Seats, seat limits and their grace periods, MCALs and MAU: the licence rules of DESIGN.md.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// What kind of protected account a seat is counted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeatProperty {
    M365User,
    GoogleUser,
    SalesforceUser,
    Endpoint,
}

impl SeatProperty {
    pub const ALL: [SeatProperty; 4] = [
        SeatProperty::M365User,
        SeatProperty::GoogleUser,
        SeatProperty::SalesforceUser,
        SeatProperty::Endpoint,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SeatProperty::M365User => "m365_user",
            SeatProperty::GoogleUser => "google_user",
            SeatProperty::SalesforceUser => "salesforce_user",
            SeatProperty::Endpoint => "endpoint",
        }
    }

    pub fn parse(value: &str) -> Option<SeatProperty> {
        SeatProperty::ALL.into_iter().find(|p| p.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            SeatProperty::M365User => "Microsoft 365 users",
            SeatProperty::GoogleUser => "Google Workspace users",
            SeatProperty::SalesforceUser => "Salesforce users",
            SeatProperty::Endpoint => "Endpoints",
        }
    }
}

/// Usage above the limit is an overage; usage equal to the limit is not.
pub fn is_over_limit(seats_used: i64, seat_limit: i64) -> bool {
    seats_used > seat_limit
}

/// When the grace period of an overage that started at `over_since` ends.
pub fn grace_period_end(over_since: DateTime<Utc>, grace_period_days: i64) -> DateTime<Utc> {
    over_since + Duration::days(grace_period_days)
}

/// Where an overage stands against its grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraceStatus {
    /// Backups still run; `days_left` whole days remain (0 on the last, partial day).
    Running { days_left: i64 },
    /// The grace period is over: new backups fail and connectors turn critical.
    Ended,
}

pub fn grace_status(grace_ends_at: DateTime<Utc>, now: DateTime<Utc>) -> GraceStatus {
    if now >= grace_ends_at {
        GraceStatus::Ended
    } else {
        GraceStatus::Running {
            days_left: (grace_ends_at - now).num_days(),
        }
    }
}

impl GraceStatus {
    /// The dashboard's "grace period" column: days left, or a dash once it has ended.
    pub fn display(self) -> String {
        match self {
            GraceStatus::Running { days_left } => crate::domain::units::format_days(days_left),
            GraceStatus::Ended => "—".to_string(),
        }
    }
}

/// A limit change takes effect tomorrow at the earliest, never on the day it is made.
pub fn earliest_limit_effective_date(today: NaiveDate) -> NaiveDate {
    today.succ_opt().unwrap_or(today)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitChangeError {
    Negative,
    TooEarly { earliest: NaiveDate },
}

impl std::fmt::Display for LimitChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitChangeError::Negative => f.write_str("A seat limit cannot be negative."),
            LimitChangeError::TooEarly { earliest } => {
                write!(
                    f,
                    "A new limit can take effect on {} at the earliest.",
                    earliest.format("%Y-%m-%d")
                )
            }
        }
    }
}

/// Checks a scheduled seat-limit change.
pub fn check_limit_change(new_limit: i64, effective_on: NaiveDate, today: NaiveDate) -> Result<(), LimitChangeError> {
    if new_limit < 0 {
        return Err(LimitChangeError::Negative);
    }
    let earliest = earliest_limit_effective_date(today);
    if effective_on < earliest {
        return Err(LimitChangeError::TooEarly { earliest });
    }
    Ok(())
}

/// MAUs of a month beyond the allowance.
pub fn mau_overage(month_mau: i64, allowance: i64) -> i64 {
    (month_mau - allowance).max(0)
}

/// Why a client may not take another MCAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McalRefusal {
    /// The customer's own allotment is used up (even if the pool has more).
    AllotmentUsedUp,
    /// The customer draws from the pool and the pool is used up.
    PoolUsedUp,
}

/// Whether one more client may take an MCAL. `allotted` is the customer's allotment (`None`: draw
/// from the reseller's pool); `pool_free` is what the reseller's pool has left.
pub fn check_mcal(allotted: Option<i64>, used_by_customer: i64, pool_free: i64) -> Result<(), McalRefusal> {
    match allotted {
        Some(allotted) if used_by_customer >= allotted => Err(McalRefusal::AllotmentUsedUp),
        Some(_) => Ok(()),
        None if pool_free <= 0 => Err(McalRefusal::PoolUsedUp),
        None => Ok(()),
    }
}

/// How a bulk limit change sets each selected limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitChange {
    /// Every selected limit becomes this.
    Absolute(i64),
    /// Every selected limit grows by this percentage of itself, rounded up to a whole seat.
    Percent(i64),
}

impl LimitChange {
    /// The new limit for a current one.
    pub fn apply(self, current: i64) -> i64 {
        match self {
            LimitChange::Absolute(limit) => limit,
            LimitChange::Percent(percent) => {
                let grown = current * (100 + percent);
                // Ceiling division that stays exact for whole numbers.
                (grown + 99).div_euclid(100).max(0)
            }
        }
    }
}

/// MCALs left in a reseller's pool. The pool (`resellers.mcal_pool`) is drawn on only by the
/// clients of customers without an allotment (`mcals_allotted IS NULL`), one MCAL per client;
/// customers with an allotment are capped by that allotment instead and do not touch the pool.
/// Never negative: a pool lowered below what is in use is simply used up.
pub fn mcal_pool_free(mcal_pool: i64, clients_drawing_from_pool: i64) -> i64 {
    (mcal_pool - clients_drawing_from_pool).max(0)
}

/// Why a new client may not be added to a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRefusal {
    /// The customer's maximum number of clients is reached.
    MaxClients,
    Mcal(McalRefusal),
}

impl std::fmt::Display for ClientRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClientRefusal::MaxClients => "The customer has reached its maximum number of clients.",
            ClientRefusal::Mcal(McalRefusal::AllotmentUsedUp) => "The customer has used all the MCALs allotted to it.",
            ClientRefusal::Mcal(McalRefusal::PoolUsedUp) => "The reseller's MCAL pool is used up.",
        })
    }
}

/// Whether one more client may be added: the max client limit first, then the MCAL rule
/// ([`check_mcal`]). `clients` is how many the customer has now.
pub fn check_new_client(
    max_clients: Option<i64>,
    clients: i64,
    allotted: Option<i64>,
    pool_free: i64,
) -> Result<(), ClientRefusal> {
    if max_clients.is_some_and(|max| clients >= max) {
        return Err(ClientRefusal::MaxClients);
    }
    check_mcal(allotted, clients, pool_free).map_err(ClientRefusal::Mcal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().expect("valid date")
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn usage_equal_to_the_limit_is_not_an_overage() {
        assert!(!is_over_limit(10, 10));
        assert!(is_over_limit(11, 10));
        assert!(!is_over_limit(0, 0));
    }

    #[test]
    fn grace_period_counts_whole_days_and_ends_with_a_dash() {
        let ends = at(2026, 6, 20, 12);
        let cases = [
            (at(2026, 6, 10, 12), GraceStatus::Running { days_left: 10 }),
            (at(2026, 6, 19, 12), GraceStatus::Running { days_left: 1 }),
            (at(2026, 6, 19, 13), GraceStatus::Running { days_left: 0 }),
            (at(2026, 6, 20, 12), GraceStatus::Ended),
            (at(2026, 6, 21, 12), GraceStatus::Ended),
        ];
        for (now, expected) in cases {
            assert_eq!(grace_status(ends, now), expected, "at {now}");
        }
        assert_eq!(GraceStatus::Ended.display(), "—");
        assert_eq!(GraceStatus::Running { days_left: 1 }.display(), "1 day");
    }

    #[test]
    fn grace_period_ends_the_configured_number_of_days_after_the_overage_began() {
        assert_eq!(grace_period_end(at(2026, 6, 1, 8), 14), at(2026, 6, 15, 8));
    }

    #[test]
    fn a_limit_change_can_be_scheduled_for_tomorrow_at_the_earliest() {
        let today = day(2026, 12, 31);
        assert_eq!(earliest_limit_effective_date(today), day(2027, 1, 1));
        assert_eq!(
            check_limit_change(50, today, today),
            Err(LimitChangeError::TooEarly {
                earliest: day(2027, 1, 1)
            })
        );
        assert_eq!(check_limit_change(50, day(2027, 1, 1), today), Ok(()));
        assert_eq!(check_limit_change(50, day(2027, 3, 1), today), Ok(()));
        assert_eq!(
            check_limit_change(-1, day(2027, 1, 1), today),
            Err(LimitChangeError::Negative)
        );
        assert_eq!(check_limit_change(0, day(2027, 1, 1), today), Ok(()));
    }

    #[test]
    fn mau_overage_is_never_negative() {
        assert_eq!(mau_overage(1200, 1000), 200);
        assert_eq!(mau_overage(1000, 1000), 0);
        assert_eq!(mau_overage(10, 1000), 0);
    }

    #[test]
    fn an_allotment_caps_a_customer_even_when_the_pool_has_more() {
        assert_eq!(check_mcal(Some(5), 4, 100), Ok(()), "the last allotted MCAL");
        assert_eq!(check_mcal(Some(5), 5, 100), Err(McalRefusal::AllotmentUsedUp));
        assert_eq!(check_mcal(Some(0), 0, 100), Err(McalRefusal::AllotmentUsedUp));
    }

    #[test]
    fn without_an_allotment_the_pool_decides() {
        assert_eq!(check_mcal(None, 40, 1), Ok(()), "the last MCAL of the pool");
        assert_eq!(check_mcal(None, 40, 0), Err(McalRefusal::PoolUsedUp));
    }

    #[test]
    fn bulk_changes_set_or_grow_each_limit() {
        assert_eq!(LimitChange::Absolute(500).apply(120), 500);
        assert_eq!(LimitChange::Percent(10).apply(120), 132);
        assert_eq!(
            LimitChange::Percent(10).apply(101),
            112,
            "111.1 rounds up to a whole seat"
        );
        assert_eq!(LimitChange::Percent(0).apply(77), 77);
        assert_eq!(LimitChange::Percent(-50).apply(10), 5);
        assert_eq!(LimitChange::Percent(-100).apply(10), 0);
    }

    #[test]
    fn seat_properties_round_trip_through_their_stored_names() {
        for property in SeatProperty::ALL {
            assert_eq!(SeatProperty::parse(property.as_str()), Some(property));
        }
        assert_eq!(SeatProperty::parse("printer"), None);
    }

    #[test]
    fn the_pool_counts_only_clients_of_customers_without_an_allotment() {
        assert_eq!(mcal_pool_free(160, 40), 120);
        assert_eq!(mcal_pool_free(40, 40), 0);
        assert_eq!(mcal_pool_free(30, 40), 0, "a lowered pool is used up, never negative");
    }

    #[test]
    fn a_new_client_is_refused_at_the_max_client_limit_before_mcals_are_looked_at() {
        assert_eq!(check_new_client(Some(3), 2, None, 10), Ok(()));
        assert_eq!(check_new_client(Some(3), 3, None, 10), Err(ClientRefusal::MaxClients));
        assert_eq!(
            check_new_client(None, 3, Some(3), 10),
            Err(ClientRefusal::Mcal(McalRefusal::AllotmentUsedUp))
        );
        assert_eq!(
            check_new_client(None, 3, None, 0),
            Err(ClientRefusal::Mcal(McalRefusal::PoolUsedUp))
        );
        assert_eq!(
            check_new_client(Some(10), 3, Some(4), 0),
            Ok(()),
            "an allotment does not need the pool"
        );
    }
}
