//! Date functions: CDate, DateAdd, DateDiff, DateFromNum, FormatDateTime, NumFromDate
//! (Now is in the dispatcher). Rules for reading and printing dates are in
//! [`crate::expr::dates`].

use time::OffsetDateTime;

use super::{describe, Args, Evaluator, Func, Number, Value};
use crate::expr::dates::{self, Interval, Parsed};
use crate::expr::eval::{fail, Source, R};

impl Evaluator<'_> {
    /// Slot `i` as an instant: a date value, or text CDate can read. NULL → `None`.
    fn date_arg(
        &mut self,
        f: Func,
        args: &Args,
        i: usize,
        src: &dyn Source,
    ) -> R<Option<OffsetDateTime>> {
        match self.arg(args, i, src)? {
            Value::Null => Ok(None),
            Value::Date(d) => Ok(Some(d)),
            Value::Str(s) => match dates::parse_date(&s) {
                Some(d) => Ok(Some(d)),
                None => fail(f.name(), format!("{s:?} is not a date/time CDate can read")),
            },
            other => fail(
                f.name(),
                format!(
                    "`{}` must be a date, got {}",
                    f.param_name(i),
                    describe(&other)
                ),
            ),
        }
    }

    fn interval_arg(&mut self, f: Func, args: &Args, src: &dyn Source) -> R<Interval> {
        let code = self.text_arg(f, args, 0, src)?.unwrap_or_default();
        match Interval::parse(&code) {
            Some(i) => Ok(i),
            None => fail(
                f.name(),
                format!("unknown interval {code:?} (use yyyy, m, d, ww, h, n or s)"),
            ),
        }
    }

    /// `CDate(expression)`: the text as a UTC instant (printed `M/d/yyyy h:mm:ss tt`).
    /// NULL → NULL; unreadable text is an error.
    pub(super) fn cdate(&mut self, args: &Args, src: &dyn Source) -> R {
        Ok(self
            .date_arg(Func::CDate, args, 0, src)?
            .map_or(Value::Null, Value::Date))
    }

    /// `DateAdd(interval, value, dateTime)`: months and years clamp the day to the
    /// month's length (.NET `AddMonths`; UNCONFIRMED). NULL dateTime → NULL.
    pub(super) fn date_add(&mut self, args: &Args, src: &dyn Source) -> R {
        let f = Func::DateAdd;
        let interval = self.interval_arg(f, args, src)?;
        let n = self.required_int(f, args, 1, src)?;
        let Some(d) = self.date_arg(f, args, 2, src)? else {
            return Ok(Value::Null);
        };
        match dates::add(interval, n, d) {
            Some(out) => Ok(Value::Date(out)),
            None => fail(f.name(), "the result is outside years 1 to 9999"),
        }
    }

    /// `DateDiff(interval, date1, date2)`: boundaries crossed from date1 to date2 (see
    /// [`dates::diff`]). NULL either date → NULL.
    pub(super) fn date_diff(&mut self, args: &Args, src: &dyn Source) -> R {
        let f = Func::DateDiff;
        let interval = self.interval_arg(f, args, src)?;
        let a = self.date_arg(f, args, 1, src)?;
        let b = self.date_arg(f, args, 2, src)?;
        Ok(match (a, b) {
            (Some(a), Some(b)) => Value::Num(Number::Int(dates::diff(interval, a, b))),
            _ => Value::Null,
        })
    }

    /// `DateFromNum(value)`: an AD date number (FILETIME ticks) as an instant.
    pub(super) fn date_from_num(&mut self, args: &Args, src: &dyn Source) -> R {
        let f = Func::DateFromNum;
        let Some(ticks) = self.int_arg(f, args, 0, src)? else {
            return Ok(Value::Null);
        };
        match dates::from_filetime(ticks) {
            Some(d) if (1..=9999).contains(&d.year()) => Ok(Value::Date(d)),
            _ => fail(f.name(), format!("{ticks} is not an AD date number")),
        }
    }

    /// `NumFromDate(value)`: an ISO 8601 (or any CDate-readable) date as FILETIME ticks.
    pub(super) fn num_from_date(&mut self, args: &Args, src: &dyn Source) -> R {
        let f = Func::NumFromDate;
        let Some(d) = self.date_arg(f, args, 0, src)? else {
            return Ok(Value::Null);
        };
        match dates::to_filetime(d) {
            Some(t) if t >= 0 => Ok(Value::Num(Number::Int(t))),
            _ => fail(f.name(), "the date is before 1601"),
        }
    }

    /// `FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat)`, or the
    /// three-argument form `(source, inputFormat, outputFormat)` Microsoft's own HR
    /// guides and Graph's function list use. The source is read with the .NET input
    /// format (white space around it allowed, the documented default styles) and printed
    /// with the output format, keeping the wall-clock time as written: no conversion to
    /// UTC or a machine zone. `dateTimeStyles` is accepted and otherwise ignored. A date
    /// value as source is printed directly. NULL → NULL.
    pub(super) fn format_date_time(&mut self, args: &Args, src: &dyn Source) -> R {
        let f = Func::FormatDateTime;
        let (input_at, output_at) = if args.len() == 3 { (1, 2) } else { (2, 3) };
        let source = self.arg(args, 0, src)?;
        let input = self.text_arg(f, args, input_at, src)?.unwrap_or_default();
        let output = self.text_arg(f, args, output_at, src)?.unwrap_or_default();
        let parsed = match source {
            Value::Null => return Ok(Value::Null),
            Value::Date(d) => Parsed::utc(d),
            Value::Multi(_) => return fail(f.name(), "`source` must be one value"),
            other => {
                let text = other.text().unwrap_or_default().into_owned();
                dates::parse_exact(&text, &input).or_else(|e| fail(f.name(), e))?
            }
        };
        match dates::format(parsed, &output) {
            Ok(s) => Ok(Value::Str(s)),
            Err(e) => fail(f.name(), e),
        }
    }
}
