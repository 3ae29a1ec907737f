//! What a month costs on an invoice plan, in integer minor units (cents): never floating point.
//!
//! The rules, applied day by day over the calendar month (UTC days):
//! - A day is billed when the customer existed that day (from the day it was created, through the
//!   day it was deleted) and an invoice plan was in force; the plan of a day is the last one
//!   configured on or before that day, so a change bills the whole day it was made on the new plan.
//! - Each component is a monthly price, paid for the share of the month's days it applied to:
//!   storage per GB (10^9 bytes) on the daily figures (a day without a report counts as nothing
//!   stored), so the quantity is the month's average; per client (each client holds one MCAL) and
//!   per seat on the daily counts; the flat fee on the billed days.
//! - A plan change mid-month gives each plan its own lines for its own days.
//! - Each line is rounded once, half up, from the exact fraction; the total is the sum of lines.

use chrono::{Datelike, NaiveDate};

/// Bytes in one billed GB.
pub const GB: i64 = 1_000_000_000;

/// An invoice plan's monthly prices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: i64,
    pub name: String,
    pub currency: String,
    pub per_gb_minor: i64,
    pub per_client_minor: i64,
    pub per_seat_minor: i64,
    pub flat_fee_minor: i64,
}

/// What a customer used on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayUsage {
    pub storage_bytes: i64,
    pub clients: i64,
    pub seats: i64,
}

/// One day of the month: the plan in force (None: not billed) and the usage.
#[derive(Debug, Clone, Copy)]
pub struct BillingDay<'a> {
    pub plan: Option<&'a Plan>,
    pub usage: DayUsage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub description: String,
    /// The quantity in ten-thousandths (the column is numeric(18, 4)): 12.5 GB → 125_000.
    pub quantity_e4: i64,
    pub unit_minor: i64,
    pub amount_minor: i64,
}

impl Line {
    /// "12.5000" for the numeric column.
    pub fn quantity_text(&self) -> String {
        format!("{}.{:04}", self.quantity_e4 / 10_000, self.quantity_e4 % 10_000)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub currency: String,
    pub lines: Vec<Line>,
    pub total_minor: i64,
}

pub fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The first day of the month after `first`'s.
pub fn next_month(first: NaiveDate) -> NaiveDate {
    first_of_month(first)
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first)
}

/// The first day of the month before `day`'s month: the month an invoice made on `day` bills.
pub fn previous_month(day: NaiveDate) -> NaiveDate {
    first_of_month(day)
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(day)
}

/// 28, 29, 30 or 31.
pub fn days_in_month(first: NaiveDate) -> i64 {
    (next_month(first) - first_of_month(first)).num_days()
}

/// Whether a customer created on `created` and deleted on `deleted` (if it was) existed on `day`.
pub fn customer_exists_on(day: NaiveDate, created: NaiveDate, deleted: Option<NaiveDate>) -> bool {
    day >= created && deleted.is_none_or(|d| day <= d)
}

/// `numerator / denominator` rounded half up, for non-negative values.
fn round_div(numerator: i128, denominator: i128) -> i64 {
    if denominator <= 0 {
        return 0;
    }
    i64::try_from((2 * numerator + denominator) / (2 * denominator)).unwrap_or(i64::MAX)
}

/// The invoice of a month from its days (`days.len()` is the month's length). None when no day
/// is billed. Plans of another currency than the last billed day's are not mixed in: their days
/// are left out (a reseller's plans share a currency in practice).
pub fn invoice(days: &[BillingDay<'_>]) -> Option<Invoice> {
    let month_days = i128::try_from(days.len()).ok()?;
    let currency = days.iter().rev().find_map(|d| d.plan)?.currency.clone();
    // Plans in the order they first bill in the month.
    let mut plans: Vec<&Plan> = Vec::new();
    for plan in days.iter().filter_map(|d| d.plan) {
        if plan.currency == currency && !plans.iter().any(|p| p.id == plan.id) {
            plans.push(plan);
        }
    }
    let several = plans.len() > 1;
    let mut lines = Vec::new();
    for plan in plans {
        let on_plan = days.iter().filter(|d| d.plan.is_some_and(|p| p.id == plan.id));
        let (mut billed, mut byte_days, mut client_days, mut seat_days) = (0i128, 0i128, 0i128, 0i128);
        for day in on_plan {
            billed += 1;
            byte_days += i128::from(day.usage.storage_bytes.max(0));
            client_days += i128::from(day.usage.clients.max(0));
            seat_days += i128::from(day.usage.seats.max(0));
        }
        let suffix = if several {
            format!(" — {} ({} of {} days)", plan.name, billed, month_days)
        } else {
            String::new()
        };
        let components = [
            (
                "Storage, GB (monthly average)",
                plan.per_gb_minor,
                byte_days,
                i128::from(GB),
            ),
            ("Clients (MCALs)", plan.per_client_minor, client_days, 1),
            ("Seats", plan.per_seat_minor, seat_days, 1),
            ("Monthly fee", plan.flat_fee_minor, billed, 1),
        ];
        for (label, unit, units_days, scale) in components {
            if unit == 0 {
                continue;
            }
            // quantity = units_days / (scale × month_days); amount = unit × quantity.
            let denominator = scale * month_days;
            lines.push(Line {
                description: format!("{label}{suffix}"),
                quantity_e4: round_div(units_days * 10_000, denominator),
                unit_minor: unit,
                amount_minor: round_div(units_days * i128::from(unit), denominator),
            });
        }
    }
    let total_minor = lines.iter().map(|l| l.amount_minor).sum();
    Some(Invoice {
        currency,
        lines,
        total_minor,
    })
}

/// 123456 → "1234.56" (two-decimal currencies, which all plans use).
pub fn format_minor(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn plan(id: i64, flat: i64) -> Plan {
        Plan {
            id,
            name: format!("Plan {id}"),
            currency: "EUR".into(),
            per_gb_minor: 0,
            per_client_minor: 0,
            per_seat_minor: 0,
            flat_fee_minor: flat,
        }
    }

    /// A month of days on `plan` from day `from` (1-based) on, with `usage` each day.
    fn month<'a>(first: NaiveDate, plan: &'a Plan, from: u32, usage: DayUsage) -> Vec<BillingDay<'a>> {
        (1..=days_in_month(first) as u32)
            .map(|d| BillingDay {
                plan: (d >= from).then_some(plan),
                usage,
            })
            .collect()
    }

    #[test]
    fn months_have_their_calendar_lengths() {
        let cases = [
            (date(2026, 2, 1), 28),
            (date(2028, 2, 1), 29),
            (date(2026, 4, 1), 30),
            (date(2026, 12, 1), 31),
            (date(2026, 1, 1), 31),
        ];
        for (first, days) in cases {
            assert_eq!(days_in_month(first), days, "{first}");
        }
        assert_eq!(previous_month(date(2026, 1, 1)), date(2025, 12, 1));
        assert_eq!(previous_month(date(2026, 3, 31)), date(2026, 2, 1));
        assert_eq!(next_month(date(2026, 12, 1)), date(2027, 1, 1));
    }

    #[test]
    fn a_whole_month_costs_the_flat_fee_whatever_its_length() {
        let p = plan(1, 3000);
        for first in [date(2026, 2, 1), date(2028, 2, 1), date(2026, 4, 1), date(2026, 5, 1)] {
            let days = month(first, &p, 1, DayUsage::default());
            let inv = invoice(&days).expect("billed");
            assert_eq!(inv.total_minor, 3000, "{first}");
            assert_eq!(inv.lines[0].quantity_text(), "1.0000");
        }
    }

    #[test]
    fn a_customer_created_mid_month_pays_from_its_first_day() {
        // (month, created on day, expected share of 3000)
        let cases = [
            (date(2026, 2, 1), 15, 1500), // 14 of 28 days
            (date(2028, 2, 1), 29, 103),  // 1 of 29: 103.45 → 103
            (date(2026, 4, 1), 16, 1500), // 15 of 30
            (date(2026, 5, 1), 31, 97),   // 1 of 31: 96.77 → 97
            (date(2026, 5, 1), 2, 2903),  // 30 of 31: 2903.2 → 2903
        ];
        let p = plan(1, 3000);
        for (first, from, expected) in cases {
            let days = month(first, &p, from, DayUsage::default());
            assert_eq!(
                invoice(&days).expect("billed").total_minor,
                expected,
                "{first} from {from}"
            );
        }
    }

    #[test]
    fn storage_is_billed_on_the_daily_average_in_gb() {
        let mut p = plan(1, 0);
        p.per_gb_minor = 4;
        // 30 days: 10 GB for 15 days and 40 GB for 15 days = 25 GB on average → 100.
        let first = date(2026, 6, 1);
        let mut days = month(first, &p, 1, DayUsage::default());
        for (i, day) in days.iter_mut().enumerate() {
            day.usage.storage_bytes = if i < 15 { 10 * GB } else { 40 * GB };
        }
        let inv = invoice(&days).expect("billed");
        assert_eq!(inv.lines.len(), 1);
        assert_eq!(inv.lines[0].quantity_text(), "25.0000");
        assert_eq!(inv.total_minor, 100);
    }

    #[test]
    fn clients_and_seats_are_billed_per_day_of_the_month() {
        let mut p = plan(1, 0);
        p.per_client_minor = 500;
        p.per_seat_minor = 150;
        let first = date(2026, 2, 1);
        let usage = DayUsage {
            storage_bytes: 0,
            clients: 3,
            seats: 10,
        };
        let days = month(first, &p, 1, usage);
        let inv = invoice(&days).expect("billed");
        assert_eq!(inv.lines[0].amount_minor, 1500);
        assert_eq!(inv.lines[1].amount_minor, 1500);
        assert_eq!(inv.total_minor, 3000);
    }

    #[test]
    fn a_plan_change_mid_month_bills_each_plan_for_its_own_days() {
        let a = plan(1, 3100);
        let b = plan(2, 6200);
        let first = date(2026, 7, 1); // 31 days
        let days: Vec<BillingDay<'_>> = (1..=31)
            .map(|d| BillingDay {
                plan: Some(if d <= 10 { &a } else { &b }),
                usage: DayUsage::default(),
            })
            .collect();
        assert_eq!(days.len() as i64, days_in_month(first));
        let inv = invoice(&days).expect("billed");
        // 3100 × 10/31 = 1000; 6200 × 21/31 = 4200.
        assert_eq!(
            inv.lines.iter().map(|l| l.amount_minor).collect::<Vec<_>>(),
            vec![1000, 4200]
        );
        assert!(inv.lines[1].description.contains("Plan 2 (21 of 31 days)"));
        assert_eq!(inv.total_minor, 5200);
    }

    #[test]
    fn a_month_without_a_billed_day_has_no_invoice() {
        let p = plan(1, 3000);
        let days = month(date(2026, 2, 1), &p, 29, DayUsage::default());
        assert!(invoice(&days).is_none());
    }

    #[test]
    fn existence_counts_the_days_of_creation_and_deletion() {
        let created = date(2026, 3, 10);
        let deleted = Some(date(2026, 3, 20));
        assert!(!customer_exists_on(date(2026, 3, 9), created, deleted));
        assert!(customer_exists_on(date(2026, 3, 10), created, deleted));
        assert!(customer_exists_on(date(2026, 3, 20), created, deleted));
        assert!(!customer_exists_on(date(2026, 3, 21), created, deleted));
        assert!(customer_exists_on(date(2026, 3, 21), created, None));
    }

    #[test]
    fn halves_round_up_and_amounts_print_with_two_decimals() {
        assert_eq!(round_div(1, 2), 1);
        assert_eq!(round_div(3, 2), 2);
        assert_eq!(round_div(4, 3), 1);
        assert_eq!(format_minor(123456), "1234.56");
        assert_eq!(format_minor(5), "0.05");
        assert_eq!(format_minor(0), "0.00");
    }
}
