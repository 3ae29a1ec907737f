//! Bandwidth throttling: a setting per level and how inheritance resolves it
//! (client → customer → reseller → server). A level without a setting (`None`) inherits.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

/// A custom setting, stored as jsonb (`bandwidth_throttling` columns; NULL = inherit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttling {
    /// A custom setting may also switch throttling off for its level and everything below.
    pub enabled: bool,
    /// `None`: all day; `Some((from, to))`: only in this daily window (it may cross midnight).
    pub window: Option<(NaiveTime, NaiveTime)>,
    pub off_on_weekends: bool,
    /// Highest rate of each backup, in kilobits per second.
    pub max_kbps: i64,
}

/// The level a setting was found at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Client,
    Customer,
    Reseller,
    Server,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::Client => "this client",
            Level::Customer => "the customer",
            Level::Reseller => "the reseller",
            Level::Server => "the server",
        }
    }
}

/// What applies after inheritance, and where it comes from (`None`: no level sets any, so no
/// throttling at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub setting: Option<Throttling>,
    pub source: Option<Level>,
}

/// The nearest level that has a setting wins; levels above it are not consulted.
pub fn resolve(
    client: Option<&Throttling>,
    customer: Option<&Throttling>,
    reseller: Option<&Throttling>,
    server: Option<&Throttling>,
) -> Effective {
    let levels = [
        (Level::Client, client),
        (Level::Customer, customer),
        (Level::Reseller, reseller),
        (Level::Server, server),
    ];
    levels
        .into_iter()
        .find_map(|(level, setting)| {
            setting.map(|s| Effective {
                setting: Some(s.clone()),
                source: Some(level),
            })
        })
        .unwrap_or(Effective {
            setting: None,
            source: None,
        })
}

/// Why a setting is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottlingError {
    /// A window that starts when it ends is empty (or the whole day): say "always" instead.
    EmptyWindow,
    NonPositiveRate,
}

impl std::fmt::Display for ThrottlingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ThrottlingError::EmptyWindow => "The window must start and end at different times.",
            ThrottlingError::NonPositiveRate => "The maximum rate must be more than 0.",
        })
    }
}

impl Throttling {
    pub fn check(&self) -> Result<(), ThrottlingError> {
        if let Some((from, to)) = self.window
            && from == to
        {
            return Err(ThrottlingError::EmptyWindow);
        }
        if self.enabled && self.max_kbps <= 0 {
            return Err(ThrottlingError::NonPositiveRate);
        }
        Ok(())
    }

    /// One line for a person: "1024 kbit/s, 08:00–18:00, not at weekends", or "off".
    pub fn describe(&self) -> String {
        if !self.enabled {
            return "off".to_string();
        }
        let mut text = format!("{} kbit/s", self.max_kbps);
        match self.window {
            None => text.push_str(", all day"),
            Some((from, to)) => text.push_str(&format!(", {}–{}", from.format("%H:%M"), to.format("%H:%M"))),
        }
        if self.off_on_weekends {
            text.push_str(", not at weekends");
        }
        text
    }

    /// Reads a stored setting; a value that does not parse counts as no setting (inherit).
    pub fn from_json(value: Option<&serde_json::Value>) -> Option<Throttling> {
        value.and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

impl Effective {
    /// "1024 kbit/s, all day (set for the reseller)" or "no throttling (no level sets any)".
    pub fn describe(&self) -> String {
        match (&self.setting, self.source) {
            (Some(setting), Some(level)) => format!("{} (set for {})", setting.describe(), level.label()),
            _ => "no throttling (no level sets any)".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(kbps: i64) -> Throttling {
        Throttling {
            enabled: true,
            window: None,
            off_on_weekends: false,
            max_kbps: kbps,
        }
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
    }

    #[test]
    fn the_nearest_level_with_a_setting_wins() {
        let (client, customer, reseller, server) = (rate(1), rate(2), rate(3), rate(4));
        let cases = [
            (
                Some(&client),
                Some(&customer),
                Some(&reseller),
                Some(&server),
                Some((1, Level::Client)),
            ),
            (
                None,
                Some(&customer),
                Some(&reseller),
                Some(&server),
                Some((2, Level::Customer)),
            ),
            (None, None, Some(&reseller), Some(&server), Some((3, Level::Reseller))),
            (None, None, None, Some(&server), Some((4, Level::Server))),
            (Some(&client), None, None, None, Some((1, Level::Client))),
            (None, Some(&customer), None, Some(&server), Some((2, Level::Customer))),
            (None, None, None, None, None),
        ];
        for (cl, cu, re, se, expected) in cases {
            let effective = resolve(cl, cu, re, se);
            let got = effective.setting.as_ref().map(|s| s.max_kbps).zip(effective.source);
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_custom_setting_that_switches_throttling_off_still_stops_inheritance() {
        let off = Throttling {
            enabled: false,
            ..rate(0)
        };
        let effective = resolve(None, Some(&off), Some(&rate(3)), None);
        assert_eq!(effective.source, Some(Level::Customer));
        assert_eq!(effective.describe(), "off (set for the customer)");
    }

    #[test]
    fn a_window_must_start_and_end_at_different_times() {
        let mut setting = rate(512);
        setting.window = Some((time(8, 0), time(8, 0)));
        assert_eq!(setting.check(), Err(ThrottlingError::EmptyWindow));
        setting.window = Some((time(22, 0), time(6, 0)));
        assert_eq!(setting.check(), Ok(()), "a window may cross midnight");
        assert_eq!(rate(0).check(), Err(ThrottlingError::NonPositiveRate));
    }

    #[test]
    fn settings_round_trip_through_json_and_read_as_a_sentence() {
        let setting = Throttling {
            enabled: true,
            window: Some((time(8, 0), time(18, 30))),
            off_on_weekends: true,
            max_kbps: 2048,
        };
        let json = serde_json::to_value(&setting).expect("serialises");
        assert_eq!(Throttling::from_json(Some(&json)), Some(setting.clone()));
        assert_eq!(setting.describe(), "2048 kbit/s, 08:00–18:30, not at weekends");
        assert_eq!(Throttling::from_json(Some(&serde_json::json!({"junk": 1}))), None);
        assert_eq!(
            resolve(None, None, None, None).describe(),
            "no throttling (no level sets any)"
        );
    }
}
