//! .NET custom date and time format strings (invariant culture) for FormatDateTime:
//! rendering like `DateTime.ToString(format)` and reading like `DateTime.ParseExact`, with
//! the one-letter standard formats mapped to their invariant patterns.

use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::dates::{build, twelve_hour, Cursor, DAYS, MONTHS};

/// A date read by a .NET format: the wall-clock value as written and its offset, if the
/// format had one (`zzz`, `K`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub local: PrimitiveDateTime,
    pub offset: Option<UtcOffset>,
}

impl Parsed {
    /// A UTC instant as a parsed value with a zero offset.
    pub(crate) fn utc(d: OffsetDateTime) -> Parsed {
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
pub(crate) fn format(p: Parsed, format: &str) -> Result<String, String> {
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
                out.push_str(if n == 1 {
                    tt.get(..1).unwrap_or("")
                } else {
                    tt
                });
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
pub(crate) fn parse_exact(text: &str, format: &str) -> Result<Parsed, String> {
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
