//! Guid and RandomString, drawing from the evaluator's seedable RNG.

use super::{Args, Evaluator, Func, Value};
use crate::expr::eval::{fail, Source, R};

const DIGITS: &str = "0123456789";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
/// The non-alphanumeric characters of Windows password complexity rules.
const SPECIAL: &str = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/";
/// RandomString's documented maximum length.
const MAX_LENGTH: i64 = 256;

impl Evaluator<'_> {
    /// `Guid()`: a version-4 GUID, lower-case 8-4-4-4-12 hex.
    pub(super) fn guid(&mut self) -> Value {
        let mut bytes = [0u8; 16];
        for b in &mut bytes {
            *b = self.rng.u8(..);
        }
        Value::Str(
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string(),
        )
    }

    /// `RandomString(Length, MinimumNumbers, MinimumSpecialCharacters, MinimumCapital,
    /// MinimumLowerCase, CharactersToAvoid)`. The minimums must fit in Length — all four,
    /// although the page's table leaves MinimumLowerCase out of its sum — and Length is at
    /// most 256; characters to avoid are removed from every class.
    pub(super) fn random_string(&mut self, args: &Args, src: &dyn Source) -> R {
        let f = Func::RandomString;
        let mut n = [0i64; 5];
        for (i, slot) in n.iter_mut().enumerate() {
            *slot = self.required_int(f, args, i, src)?;
            if *slot < 0 {
                return fail(
                    f.name(),
                    format!("`{}` must not be negative", f.param_name(i)),
                );
            }
        }
        let avoid = self.text_arg(f, args, 5, src)?.unwrap_or_default();
        let [length, digits, special, upper, lower] = n;
        if length > MAX_LENGTH {
            return fail(
                f.name(),
                format!("`length` is at most {MAX_LENGTH}, got {length}"),
            );
        }
        // Each is at most `length` here or the sum already exceeds it, so no overflow.
        if [digits, special, upper, lower].iter().any(|m| *m > length)
            || digits + special + upper + lower > length
        {
            return fail(f.name(), "the minimums add up to more than `length`");
        }
        let class =
            |set: &str| -> Vec<char> { set.chars().filter(|c| !avoid.contains(*c)).collect() };
        let classes = [class(DIGITS), class(SPECIAL), class(UPPER), class(LOWER)];
        let mut out: Vec<char> = Vec::new();
        for (set, min) in classes.iter().zip([digits, special, upper, lower]) {
            if min > 0 && set.is_empty() {
                return fail(
                    f.name(),
                    "`charactersToAvoid` removes a whole required class",
                );
            }
            for _ in 0..min {
                out.push(self.pick(set));
            }
        }
        let all: Vec<char> = classes.concat();
        if all.is_empty() && length > 0 {
            return fail(f.name(), "`charactersToAvoid` removes every character");
        }
        while i64::try_from(out.len()).unwrap_or(i64::MAX) < length {
            out.push(self.pick(&all));
        }
        self.rng.shuffle(&mut out);
        Ok(Value::Str(out.into_iter().collect()))
    }

    fn pick(&mut self, set: &[char]) -> char {
        set.get(self.rng.usize(..set.len().max(1)))
            .copied()
            .unwrap_or('0')
    }
}
