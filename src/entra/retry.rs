//! Entra's answer to a 429: it pauses for `Retry-After` and retries the failed request
//! (Microsoft Q&A 2284725; *How Application Provisioning works*: per-job rate limits). The
//! precise timing is unconfirmed (docs/entra.md §3.6), so the policy is configurable; the
//! defaults are the same for every command.

use std::time::Duration;

/// How a 429 is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of one request after a 429 (default 3); the next 429 is its answer.
    pub retries: u32,
    /// The longest wait honoured; a longer `Retry-After` is cut to this (default 30 s).
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            max_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (1-based) of a 429 that asked for `asked`,
    /// or `None` when the retries are used up. No `Retry-After`: 1 s.
    pub fn wait(&self, attempt: u32, asked: Option<Duration>) -> Option<Duration> {
        (attempt <= self.retries)
            .then(|| asked.unwrap_or(Duration::from_secs(1)).min(self.max_wait))
    }
}

/// `Retry-After` as a wait: delay-seconds, or an HTTP date from now (RFC 9110 §10.2.3).
pub fn retry_after(headers: &hyper::HeaderMap) -> Option<Duration> {
    let text = headers
        .get(hyper::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = when - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_capped_and_retries_counted() {
        let p = RetryPolicy::default();
        assert_eq!(p.wait(1, None), Some(Duration::from_secs(1)));
        assert_eq!(
            p.wait(2, Some(Duration::from_secs(900))),
            Some(Duration::from_secs(30))
        );
        assert_eq!(p.wait(4, Some(Duration::from_secs(1))), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = hyper::HeaderMap::new();
        h.insert(hyper::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            hyper::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(hyper::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
