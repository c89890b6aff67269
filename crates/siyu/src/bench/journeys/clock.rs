//! The clock the journey benches give the App: simulated time that starts at a chosen instant and runs at a
//! chosen speed from a chosen moment of the machine's clock.
//!
//! The crash test needs customers to go through a journey whose sends are a day apart (the daily cap allows
//! one marketing message per channel and local day) and never in quiet hours (22:00–08:00 local): with a
//! clock that starts at a local morning and runs some two thousand times faster than the wall, three days
//! pass in a couple of minutes while the product's rules (quiet hours, the cap, leases, waits) run unchanged.
//! Every worker process gets the same start and speed, so the time keeps running while a worker is dead,
//! as it would after a real crash. The firing-lag bench uses speed 1, shifted to a local working day so its
//! sends are not held by quiet hours at night.

use chrono::{DateTime, TimeZone, Utc};
use siyu_app::clock::Clock;

/// Simulated time: `start` at the wall's `wall_start_ms`, moving `speed` times as fast as the wall.
#[derive(Debug, Clone, Copy)]
pub struct RunningClock {
    pub start: DateTime<Utc>,
    pub wall_start_ms: i64,
    pub speed: f64,
}

impl RunningClock {
    /// A clock at `start` from now on.
    pub fn from_now(start: DateTime<Utc>, speed: f64) -> Self {
        Self { start, wall_start_ms: Utc::now().timestamp_millis(), speed }
    }
}

impl Clock for RunningClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = (Utc::now().timestamp_millis() - self.wall_start_ms).max(0) as f64 * self.speed;
        let ms = self.start.timestamp_millis() + elapsed as i64;
        DateTime::from_timestamp_millis(ms).unwrap_or(self.start)
    }
}

/// 08:30 in Shanghai (the tenant's default zone) on a Monday: a morning every journey bench starts from.
pub fn local_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 0, 30, 0).single().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_clock_moves_speed_times_as_fast_as_the_wall() {
        let start = local_morning();
        let c = RunningClock { start, wall_start_ms: Utc::now().timestamp_millis() - 1_000, speed: 3_600.0 };
        let advanced = (c.now() - start).num_seconds();
        assert!((3_600..3_700).contains(&advanced), "{advanced}");
        let frozen = RunningClock { start, wall_start_ms: i64::MAX, speed: 3_600.0 };
        assert_eq!(frozen.now(), start);
    }
}
