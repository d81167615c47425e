//! Dates for CDate, Now, DateAdd, DateDiff, DateFromNum, NumFromDate and FormatDateTime:
//! the `M/d/yyyy h:mm:ss tt` rendering the reference page prints, a lenient date reader
//! for CDate, VBA-style interval arithmetic, AD FILETIME numbers, and .NET custom date
//! and time format strings (invariant culture, in `dotnet_format`) for FormatDateTime.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

pub(crate) use super::dotnet_format::{format, parse_exact, Parsed};

pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(crate) const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `M/d/yyyy h:mm:ss tt` in UTC, the form CDate, DateAdd and Now print: `3/16/2020 7:00:00 AM`.
pub(crate) fn render_default(d: OffsetDateTime) -> String {
    let d = d.to_offset(UtcOffset::UTC);
    let (h12, tt) = twelve_hour(d.hour());
    format!(
        "{}/{}/{:04} {}:{:02}:{:02} {tt}",
        u8::from(d.month()),
        d.day(),
        d.year(),
        h12,
        d.minute(),
        d.second()
    )
}

pub(crate) fn twelve_hour(h: u8) -> (u8, &'static str) {
    let tt = if h < 12 { "AM" } else { "PM" };
    let h12 = match h % 12 {
        0 => 12,
        x => x,
    };
    (h12, tt)
}

// ---- a small cursor for the readers ------------------------------------------------------

pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }
    pub(crate) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }
    pub(crate) fn done(&self) -> bool {
        self.rest().is_empty()
    }
    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    pub(crate) fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }
    pub(crate) fn eat_ci(&mut self, word: &str) -> bool {
        let rest = self.rest();
        match rest.get(..word.len()) {
            Some(head) if head.eq_ignore_ascii_case(word) => {
                self.pos += word.len();
                true
            }
            _ => false,
        }
    }
    pub(crate) fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.eat(self.peek().unwrap_or(' '));
        }
    }
    /// Between `min` and `max` ASCII digits.
    pub(crate) fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let rest = self.rest();
        let n = rest
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if n < min {
            return None;
        }
        let v = rest.get(..n)?.parse().ok()?;
        self.pos += n;
        Some(v)
    }
    /// Fraction digits after a `.`: returns nanoseconds.
    pub(crate) fn fraction(&mut self, min: usize, max: usize) -> Option<u32> {
        let rest = self.rest();
        let n = rest
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if n < min {
            return None;
        }
        let digits = rest.get(..n)?;
        self.pos += n;
        let mut nanos: u32 = 0;
        for (i, b) in digits.bytes().take(9).enumerate() {
            nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
        }
        Some(nanos)
    }
    /// `Z`, `±hh:mm`, `±hhmm` or `±hh`.
    pub(crate) fn offset(&mut self) -> Option<UtcOffset> {
        if self.eat('Z') || self.eat('z') {
            return Some(UtcOffset::UTC);
        }
        let sign = if self.eat('+') {
            1
        } else if self.eat('-') {
            -1
        } else {
            return None;
        };
        let h = self.digits(2, 2)?;
        let m = if self.eat(':') {
            self.digits(2, 2)?
        } else {
            self.digits(2, 2).unwrap_or(0)
        };
        let secs = sign * (i32::try_from(h * 3600 + m * 60).ok()?);
        UtcOffset::from_whole_seconds(secs).ok()
    }
}

pub(crate) fn build(
    y: i32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    nanos: u32,
) -> Option<PrimitiveDateTime> {
    let month = Month::try_from(u8::try_from(mo).ok()?).ok()?;
    let date = Date::from_calendar_date(y, month, u8::try_from(d).ok()?).ok()?;
    let time = Time::from_hms_nano(
        u8::try_from(h).ok()?,
        u8::try_from(mi).ok()?,
        u8::try_from(s).ok()?,
        nanos,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

/// `[T| ]HH:mm[:ss[.fffffff]]` after a date; midnight when absent.
fn time_part(c: &mut Cursor<'_>, twelve_hour_clock: bool) -> Option<(u32, u32, u32, u32)> {
    let save = c.pos;
    if !(c.eat('T') || c.eat('t') || c.peek().is_some_and(char::is_whitespace)) {
        return Some((0, 0, 0, 0));
    }
    c.skip_spaces();
    let Some(mut h) = c.digits(1, 2) else {
        c.pos = save;
        return Some((0, 0, 0, 0));
    };
    if !c.eat(':') {
        return None;
    }
    let mi = c.digits(2, 2)?;
    let (mut s, mut nanos) = (0, 0);
    if c.eat(':') {
        s = c.digits(2, 2)?;
        if c.eat('.') {
            nanos = c.fraction(1, 9)?;
        }
    }
    if twelve_hour_clock {
        c.skip_spaces();
        if c.eat_ci("AM") {
            if !(1..=12).contains(&h) {
                return None;
            }
            h %= 12;
        } else if c.eat_ci("PM") {
            if !(1..=12).contains(&h) {
                return None;
            }
            h = h % 12 + 12;
        }
    }
    Some((h, mi, s, nanos))
}

/// CDate's reader: ISO 8601 dates (`2009-06-15T01:45:30-07:00`, `2021-08-24`, the
/// date-plus-offset form `2020-03-16-07:00`), and US invariant-culture dates
/// (`8/25/2021 5:41:18 PM`, `8/25/2021`, `2021/08/25`). Without an offset the text is
/// taken as UTC (the reference page leaves it UNCONFIRMED). The result is in UTC.
pub(crate) fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let mut c = Cursor::new(text.trim());
    let first = c.digits(1, 4)?;
    let (y, mo, d, us) = if c.eat('-') {
        let mo = c.digits(1, 2)?;
        if !c.eat('-') {
            return None;
        }
        (i32::try_from(first).ok()?, mo, c.digits(1, 2)?, false)
    } else if c.eat('/') {
        let second = c.digits(1, 2)?;
        if !c.eat('/') {
            return None;
        }
        let third = c.digits(1, 4)?;
        if first > 31 {
            (i32::try_from(first).ok()?, second, third, false)
        } else {
            (i32::try_from(third).ok()?, first, second, true)
        }
    } else {
        return None;
    };
    let (h, mi, s, nanos) = time_part(&mut c, us)?;
    let offset = c.offset().unwrap_or(UtcOffset::UTC);
    c.skip_spaces();
    if !c.done() {
        return None;
    }
    let local = build(y, mo, d, h, mi, s, nanos)?;
    local
        .assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)
}

// ---- DateAdd / DateDiff -----------------------------------------------------------------

/// A DateAdd/DateDiff interval code, exactly as the page lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interval {
    Year,
    Month,
    Day,
    Week,
    Hour,
    Minute,
    Second,
}

impl Interval {
    /// `yyyy`, `m`, `d`, `ww`, `h`, `n`, `s` (case-sensitive: `M` is not a code).
    pub(crate) fn parse(code: &str) -> Option<Interval> {
        Some(match code {
            "yyyy" => Interval::Year,
            "m" => Interval::Month,
            "d" => Interval::Day,
            "ww" => Interval::Week,
            "h" => Interval::Hour,
            "n" => Interval::Minute,
            "s" => Interval::Second,
            _ => return None,
        })
    }
}

fn add_months(d: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let total =
        (i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1).checked_add(months)?;
    let y = i32::try_from(total.div_euclid(12)).ok()?;
    let m = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    // .NET AddMonths clamps the day to the month's length (Jan 31 + 1 month = Feb 28/29).
    let day = d.day().min(time::util::days_in_month(m, y));
    let date = Date::from_calendar_date(y, m, day).ok()?;
    Some(d.replace_date(date))
}

/// `DateAdd(interval, n, d)`; `None` when the result leaves years 1–9999.
pub(crate) fn add(interval: Interval, n: i64, d: OffsetDateTime) -> Option<OffsetDateTime> {
    let secs = |unit: i64| n.checked_mul(unit).map(time::Duration::seconds);
    let out = match interval {
        Interval::Year => add_months(d, n.checked_mul(12)?)?,
        Interval::Month => add_months(d, n)?,
        Interval::Day => d.checked_add(secs(86_400)?)?,
        Interval::Week => d.checked_add(secs(7 * 86_400)?)?,
        Interval::Hour => d.checked_add(secs(3_600)?)?,
        Interval::Minute => d.checked_add(secs(60)?)?,
        Interval::Second => d.checked_add(secs(1)?)?,
    };
    (1..=9999).contains(&out.year()).then_some(out)
}

/// `DateDiff(interval, d1, d2)` by counting calendar boundaries crossed in UTC, as VBA
/// does and as every row of the page's table implies: `d` counts midnights, `ww`
/// Sundays, `m` month starts, `yyyy` new years, `h`/`n`/`s` hour/minute/second starts.
pub(crate) fn diff(interval: Interval, d1: OffsetDateTime, d2: OffsetDateTime) -> i64 {
    let (a, b) = (d1.to_offset(UtcOffset::UTC), d2.to_offset(UtcOffset::UTC));
    let day = |d: OffsetDateTime| i64::from(d.to_julian_day());
    let unix = |d: OffsetDateTime| d.unix_timestamp();
    match interval {
        Interval::Year => i64::from(b.year()) - i64::from(a.year()),
        Interval::Month => {
            let months =
                |d: OffsetDateTime| i64::from(d.year()) * 12 + i64::from(u8::from(d.month()));
            months(b) - months(a)
        }
        Interval::Day => day(b) - day(a),
        // Julian day + 1 is a multiple of 7 exactly on Sundays.
        Interval::Week => (day(b) + 1).div_euclid(7) - (day(a) + 1).div_euclid(7),
        Interval::Hour => unix(b).div_euclid(3600) - unix(a).div_euclid(3600),
        Interval::Minute => unix(b).div_euclid(60) - unix(a).div_euclid(60),
        Interval::Second => unix(b) - unix(a),
    }
}

// ---- AD FILETIME numbers ----------------------------------------------------------------

/// 100-ns ticks from 1601-01-01 to 1970-01-01.
const FILETIME_UNIX_EPOCH: i128 = 116_444_736_000_000_000;

/// DateFromNum: an AD date number (FILETIME ticks) as a UTC instant.
pub(crate) fn from_filetime(ticks: i64) -> Option<OffsetDateTime> {
    let nanos = (i128::from(ticks) - FILETIME_UNIX_EPOCH) * 100;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// NumFromDate: a UTC instant as FILETIME ticks.
pub(crate) fn to_filetime(d: OffsetDateTime) -> Option<i64> {
    i64::try_from(d.unix_timestamp_nanos() / 100 + FILETIME_UNIX_EPOCH).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reads_the_documented_cdate_inputs_as_utc() {
        let r = |s: &str| parse_date(s).map(render_default);
        assert_eq!(
            r("2020-03-16-07:00").as_deref(),
            Some("3/16/2020 7:00:00 AM")
        );
        assert_eq!(
            r("2021-06-30+08:00").as_deref(),
            Some("6/29/2021 4:00:00 PM")
        );
        assert_eq!(
            r("2009-06-15T01:45:30-07:00").as_deref(),
            Some("6/15/2009 8:45:30 AM")
        );
        assert_eq!(
            r("8/25/2021 5:41:18 PM").as_deref(),
            Some("8/25/2021 5:41:18 PM")
        );
        assert_eq!(
            r("12/31/2021 12:00:00 AM").as_deref(),
            Some("12/31/2021 12:00:00 AM")
        );
        assert_eq!(r("2021-02-30"), None);
        assert_eq!(r("yesterday"), None);
    }

    #[test]
    fn adds_months_with_clamping_and_counts_boundaries() {
        let jan31 = datetime!(2024-01-31 10:00 UTC);
        assert_eq!(
            add(Interval::Month, 1, jan31),
            Some(datetime!(2024-02-29 10:00 UTC))
        );
        let a = datetime!(2021-12-31 23:59:59 UTC);
        let b = datetime!(2022-01-01 00:00:00 UTC);
        assert_eq!(diff(Interval::Year, a, b), 1);
        assert_eq!(diff(Interval::Day, a, b), 1);
        assert_eq!(diff(Interval::Second, a, b), 1);
        // 2022-01-01 is a Saturday: no Sunday crossed.
        assert_eq!(diff(Interval::Week, a, b), 0);
        assert_eq!(diff(Interval::Week, b, datetime!(2022-01-02 0:00 UTC)), 1);
    }

    #[test]
    fn filetime_round_trips() {
        let d = from_filetime(129_699_324_000_000_000).unwrap();
        assert_eq!(d, datetime!(2012-01-01 23:00 UTC));
        assert_eq!(to_filetime(d), Some(129_699_324_000_000_000));
    }
}
