//! Dates for CDate, Now, DateAdd, DateDiff, DateFromNum, NumFromDate and FormatDateTime:
//! the `M/d/yyyy h:mm:ss tt` rendering the reference page prints, a lenient date reader
//! for CDate, VBA-style interval arithmetic, AD FILETIME numbers, and .NET custom date
//! and time format strings (invariant culture) for FormatDateTime.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const MONTHS: [&str; 12] = [
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
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `M/d/yyyy h:mm:ss tt` in UTC, the form CDate, DateAdd and Now print: `3/16/2020 7:00:00 AM`.
pub fn render_default(d: OffsetDateTime) -> String {
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

fn twelve_hour(h: u8) -> (u8, &'static str) {
    let tt = if h < 12 { "AM" } else { "PM" };
    let h12 = match h % 12 {
        0 => 12,
        x => x,
    };
    (h12, tt)
}

// ---- a small cursor for the readers ------------------------------------------------------

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }
    fn done(&self) -> bool {
        self.rest().is_empty()
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn eat_ci(&mut self, word: &str) -> bool {
        let rest = self.rest();
        match rest.get(..word.len()) {
            Some(head) if head.eq_ignore_ascii_case(word) => {
                self.pos += word.len();
                true
            }
            _ => false,
        }
    }
    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.eat(self.peek().unwrap_or(' '));
        }
    }
    /// Between `min` and `max` ASCII digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
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
    fn fraction(&mut self, min: usize, max: usize) -> Option<u32> {
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
    fn offset(&mut self) -> Option<UtcOffset> {
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

fn build(
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
pub fn parse_date(text: &str) -> Option<OffsetDateTime> {
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
pub enum Interval {
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
    pub fn parse(code: &str) -> Option<Interval> {
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
    let total = i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1 + months;
    let y = i32::try_from(total.div_euclid(12)).ok()?;
    let m = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    // .NET AddMonths clamps the day to the month's length (Jan 31 + 1 month = Feb 28/29).
    let day = d.day().min(time::util::days_in_month(m, y));
    let date = Date::from_calendar_date(y, m, day).ok()?;
    Some(d.replace_date(date))
}

/// `DateAdd(interval, n, d)`; `None` when the result leaves years 1–9999.
pub fn add(interval: Interval, n: i64, d: OffsetDateTime) -> Option<OffsetDateTime> {
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
pub fn diff(interval: Interval, d1: OffsetDateTime, d2: OffsetDateTime) -> i64 {
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
pub fn from_filetime(ticks: i64) -> Option<OffsetDateTime> {
    let nanos = (i128::from(ticks) - FILETIME_UNIX_EPOCH) * 100;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// NumFromDate: a UTC instant as FILETIME ticks.
pub fn to_filetime(d: OffsetDateTime) -> Option<i64> {
    i64::try_from(d.unix_timestamp_nanos() / 100 + FILETIME_UNIX_EPOCH).ok()
}

// ---- .NET custom date and time format strings ------------------------------------------

/// A date read by a .NET format: the wall-clock value as written and its offset, if the
/// format had one (`zzz`, `K`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    pub local: PrimitiveDateTime,
    pub offset: Option<UtcOffset>,
}

impl Parsed {
    /// A UTC instant as a parsed value with a zero offset.
    pub fn utc(d: OffsetDateTime) -> Parsed {
        let d = d.to_offset(UtcOffset::UTC);
        Parsed {
            local: PrimitiveDateTime::new(d.date(), d.time()),
            offset: Some(UtcOffset::UTC),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Spec(char, usize),
    Lit(String),
}

fn is_spec(c: char) -> bool {
    matches!(
        c,
        'y' | 'M' | 'd' | 'h' | 'H' | 'm' | 's' | 'f' | 'F' | 't' | 'z' | 'g' | 'K'
    )
}

/// A one-letter .NET standard format as its custom pattern (invariant culture).
fn standard(format: &str) -> Option<&'static str> {
    Some(match format {
        "d" => "MM/dd/yyyy",
        "D" => "dddd, dd MMMM yyyy",
        "g" => "MM/dd/yyyy HH:mm",
        "G" => "MM/dd/yyyy HH:mm:ss",
        "o" | "O" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
        "r" | "R" => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        "s" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        "t" => "HH:mm",
        "T" => "HH:mm:ss",
        "u" => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        _ => return None,
    })
}

fn pieces(format: &str) -> Result<Vec<Piece>, String> {
    let format = if format.chars().count() == 1 {
        standard(format).ok_or_else(|| format!("unsupported standard format \"{format}\""))?
    } else {
        format
    };
    let mut out = Vec::new();
    let mut chars = format.chars().peekable();
    let lit = |out: &mut Vec<Piece>, c: char| match out.last_mut() {
        Some(Piece::Lit(s)) => s.push(c),
        _ => out.push(Piece::Lit(c.to_string())),
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let mut closed = false;
                for q in chars.by_ref() {
                    if q == c {
                        closed = true;
                        break;
                    }
                    lit(&mut out, q);
                }
                if !closed {
                    return Err("unterminated quoted text in the format".to_owned());
                }
            }
            '\\' => match chars.next() {
                Some(e) => lit(&mut out, e),
                None => return Err("`\\` at the end of the format".to_owned()),
            },
            '%' => match chars.next() {
                Some(s) if is_spec(s) => out.push(Piece::Spec(s, 1)),
                _ => return Err("`%` must precede one format letter".to_owned()),
            },
            c if is_spec(c) => {
                let mut n = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    n += 1;
                }
                if matches!(c, 'f' | 'F') && n > 7 {
                    return Err(format!("at most 7 `{c}` in a format"));
                }
                out.push(Piece::Spec(c, n));
            }
            other => lit(&mut out, other),
        }
    }
    Ok(out)
}

/// Renders `p` with a .NET custom (or one-letter standard) format, invariant culture.
/// Without an offset, `z` specifiers print `+00:00` (as on a machine in UTC) and `K`
/// prints nothing.
pub fn format(p: Parsed, format: &str) -> Result<String, String> {
    let mut out = String::new();
    let d = p.local;
    let ticks = d.nanosecond() / 100;
    for piece in pieces(format)? {
        let Piece::Spec(c, n) = piece else {
            if let Piece::Lit(s) = piece {
                out.push_str(&s);
            }
            continue;
        };
        let two = |v: u8| {
            if n >= 2 {
                format!("{v:02}")
            } else {
                v.to_string()
            }
        };
        let month = usize::from(u8::from(d.month())) - 1;
        let weekday = usize::from(d.weekday().number_days_from_sunday());
        let name = |names: &[&'static str], i: usize, full: bool| {
            let s = names.get(i).copied().unwrap_or("");
            if full {
                s.to_owned()
            } else {
                s.chars().take(3).collect()
            }
        };
        match c {
            'y' if n <= 2 => {
                out.push_str(&two(u8::try_from(d.year().rem_euclid(100)).unwrap_or(0)))
            }
            'y' => out.push_str(&format!("{:0width$}", d.year(), width = n)),
            'M' if n <= 2 => out.push_str(&two(u8::from(d.month()))),
            'M' => out.push_str(&name(&MONTHS, month, n >= 4)),
            'd' if n <= 2 => out.push_str(&two(d.day())),
            'd' => out.push_str(&name(&DAYS, weekday, n >= 4)),
            'h' => out.push_str(&two(twelve_hour(d.hour()).0)),
            'H' => out.push_str(&two(d.hour())),
            'm' => out.push_str(&two(d.minute())),
            's' => out.push_str(&two(d.second())),
            'f' | 'F' => {
                let digits = format!("{ticks:07}");
                let mut part: String = digits.chars().take(n).collect();
                if c == 'F' {
                    part.truncate(part.trim_end_matches('0').len());
                    if part.is_empty() && out.ends_with('.') {
                        out.pop();
                    }
                }
                out.push_str(&part);
            }
            't' => {
                let tt = twelve_hour(d.hour()).1;
                out.push_str(if n == 1 { &tt[..1] } else { tt });
            }
            'z' => {
                let o = p.offset.unwrap_or(UtcOffset::UTC);
                let sign = if o.is_negative() { '-' } else { '+' };
                let (h, m) = (
                    o.whole_hours().unsigned_abs(),
                    o.minutes_past_hour().unsigned_abs(),
                );
                match n {
                    1 => out.push_str(&format!("{sign}{h}")),
                    2 => out.push_str(&format!("{sign}{h:02}")),
                    _ => out.push_str(&format!("{sign}{h:02}:{m:02}")),
                }
            }
            'K' => match p.offset {
                None => {}
                Some(o) if o.is_utc() => out.push('Z'),
                Some(o) => {
                    let sign = if o.is_negative() { '-' } else { '+' };
                    let (h, m) = (
                        o.whole_hours().unsigned_abs(),
                        o.minutes_past_hour().unsigned_abs(),
                    );
                    out.push_str(&format!("{sign}{h:02}:{m:02}"));
                }
            },
            _ => out.push_str("A.D."),
        }
    }
    Ok(out)
}

/// Reads `text` with a .NET custom format, like `DateTime.ParseExact` with leading and
/// trailing white space allowed. Parts the format lacks default to 1 (year, month, day)
/// or 0; the whole text must be used.
pub fn parse_exact(text: &str, format: &str) -> Result<Parsed, String> {
    let pieces = pieces(format)?;
    let mut c = Cursor::new(text.trim());
    let (mut y, mut mo, mut d) = (1i32, 1u32, 1u32);
    let (mut h, mut mi, mut s, mut nanos) = (0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut offset = None;
    let bad =
        |what: &str| format!("\"{text}\" does not match the format \"{format}\" at its {what}");
    for piece in &pieces {
        match *piece {
            Piece::Lit(ref lit) => {
                for ch in lit.chars() {
                    if !c.eat(ch) {
                        return Err(bad(&format!("literal `{ch}`")));
                    }
                }
            }
            Piece::Spec(ch, n) => {
                let num = |c: &mut Cursor<'_>| {
                    if n >= 2 {
                        c.digits(2, 2)
                    } else {
                        c.digits(1, 2)
                    }
                };
                match ch {
                    'y' if n <= 2 => {
                        let v = num(&mut c).ok_or_else(|| bad("year"))?;
                        // .NET's two-digit year window ends at 2049.
                        y = i32::try_from(if v < 50 { 2000 + v } else { 1900 + v }).unwrap_or(1);
                    }
                    'y' => {
                        let v = c.digits(n.min(4), n.max(4)).ok_or_else(|| bad("year"))?;
                        y = i32::try_from(v).map_err(|_| bad("year"))?;
                    }
                    'M' if n <= 2 => mo = num(&mut c).ok_or_else(|| bad("month"))?,
                    'M' => {
                        let i = MONTHS
                            .iter()
                            .position(|m| {
                                let m = if n >= 4 {
                                    m.to_string()
                                } else {
                                    m.chars().take(3).collect()
                                };
                                c.eat_ci(&m)
                            })
                            .ok_or_else(|| bad("month name"))?;
                        mo = u32::try_from(i + 1).unwrap_or(1);
                    }
                    'd' if n <= 2 => d = num(&mut c).ok_or_else(|| bad("day"))?,
                    'd' => {
                        DAYS.iter()
                            .find(|day| {
                                let day = if n >= 4 {
                                    day.to_string()
                                } else {
                                    day.chars().take(3).collect()
                                };
                                c.eat_ci(&day)
                            })
                            .ok_or_else(|| bad("day name"))?;
                    }
                    'h' | 'H' => h = num(&mut c).ok_or_else(|| bad("hour"))?,
                    'm' => mi = num(&mut c).ok_or_else(|| bad("minute"))?,
                    's' => s = num(&mut c).ok_or_else(|| bad("second"))?,
                    'f' => nanos = c.fraction(n, n).ok_or_else(|| bad("fraction"))?,
                    'F' => nanos = c.fraction(0, n).unwrap_or(0),
                    't' => {
                        let (am, p) = if n == 1 { ("A", "P") } else { ("AM", "PM") };
                        pm = Some(if c.eat_ci(am) {
                            false
                        } else if c.eat_ci(p) {
                            true
                        } else {
                            return Err(bad("AM/PM designator"));
                        });
                    }
                    'z' => {
                        let sign = if c.eat('+') {
                            1
                        } else if c.eat('-') {
                            -1
                        } else {
                            return Err(bad("offset"));
                        };
                        let hh = num(&mut c).ok_or_else(|| bad("offset"))?;
                        let mm = if n >= 3 {
                            if !c.eat(':') {
                                return Err(bad("offset"));
                            }
                            c.digits(2, 2).ok_or_else(|| bad("offset"))?
                        } else {
                            0
                        };
                        let secs = sign * i32::try_from(hh * 3600 + mm * 60).unwrap_or(i32::MAX);
                        offset =
                            Some(UtcOffset::from_whole_seconds(secs).map_err(|_| bad("offset"))?);
                    }
                    'K' => offset = c.offset(),
                    _ => {
                        let _ = c.eat_ci("A.D.") || c.eat_ci("AD");
                    }
                }
            }
        }
    }
    if !c.done() {
        return Err(format!(
            "\"{text}\" has text left over after the format \"{format}\""
        ));
    }
    if let Some(pm) = pm {
        if !(1..=12).contains(&h) {
            return Err(bad("hour"));
        }
        h = h % 12 + if pm { 12 } else { 0 };
    }
    let local = build(y, mo, d, h, mi, s, nanos)
        .ok_or_else(|| format!("\"{text}\" is not a valid date"))?;
    Ok(Parsed { local, offset })
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

    #[test]
    fn net_formats_parse_and_print() {
        let p = parse_exact("20150123105347.1Z", "yyyyMMddHHmmss.fZ").unwrap();
        assert_eq!(format(p, "yyyy-MM-dd").unwrap(), "2015-01-23");
        assert_eq!(
            format(p, "dddd, MMMM d h:mm tt").unwrap(),
            "Friday, January 23 10:53 AM"
        );
        let p = parse_exact(" 2020-12-31-08:00 ", "yyyy-MM-ddzzz").unwrap();
        assert_eq!(
            format(p, "yyyy-MM-dd'T'HH:mm:ssK").unwrap(),
            "2020-12-31T00:00:00-08:00"
        );
        let p = parse_exact("3/7/2021 01:05:09 PM", "M/d/yyyy hh:mm:ss tt").unwrap();
        assert_eq!(format(p, "o").unwrap(), "2021-03-07T13:05:09.0000000");
        assert!(parse_exact("2021-13-01", "yyyy-MM-dd").is_err());
        assert!(parse_exact("2021-01-01x", "yyyy-MM-dd").is_err());
        assert!(format(p, "'open").is_err());
    }
}
