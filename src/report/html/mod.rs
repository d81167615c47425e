//! The HTML report: one self-contained page for a `replay`, `validate`, `provision` or
//! `fuzz` run (`--report html=PATH`), written for the person who opens it when CI goes red.
//!
//! - [`replay`] and [`validate`]: a header (target, dialect, profile, date, verdict), the
//!   counts, findings grouped by cause with a bar chart, and every scenario run, failed first,
//!   each failure with its steps, exchanges, expectation detail and Entra's consequence.
//! - [`provision`]: the cycle summary with the quarantine verdict and a per-object table in
//!   the shape of the portal's provisioning logs.
//! - `fuzz` (with the feature `endpoint-fuzz`): the run's seed, counts and the model's
//!   share of its time, and each divergence with its minimal sequence, the scenario written
//!   for it and the command that replays it.
//!
//! # What the page holds, and what it never holds
//!
//! - **No external reference.** CSS and the one small script are inlined; the chart is inline
//!   SVG. The page works from `file://` with no network.
//! - **Readable without JavaScript.** Expand and collapse are `<details>`/`<summary>`; the
//!   script only shows a filter box (hidden until it runs) that hides non-matching items.
//! - **Every text is HTML-escaped** by the template engine; the only unescaped strings are
//!   this module's own CSS and script constants. Attributes are always double-quoted.
//! - **No secrets.** Bodies pass through [`crate::replay::detail::redact`] (password, secret,
//!   token, authorization, API-key members), credential headers are replaced by name, user
//!   info in the target URL is dropped, and every value in [`RunInfo::secrets`] (the bearer
//!   token) is replaced wherever it occurs in a text the endpoint sent back.
//! - **Bounded.** A body shows its first [`PREVIEW_CHARS`] characters, the rest behind a
//!   `<details>`, and at most [`MAX_BODY_CHARS`] in all; cuts fall on character boundaries.
//!
//! # Template engine: maud
//!
//! The page is written with [maud](https://maud.lambda.xyz/)'s `html!` macro rather than
//! askama or minijinja:
//! - it compiles to plain `String` pushes at build time, so there is no template to parse or
//!   fail at run time, and a typo is a compile error;
//! - every `(splice)` is escaped unless wrapped in `PreEscaped`, which makes the unescaped
//!   places greppable (two constants here);
//! - it is the leanest of the three: maud, its proc-macro and two small helpers on top of
//!   the `syn`/`quote` this crate already builds (askama adds a parser, config reader and
//!   hashing crates; minijinja is a whole runtime engine), which matters on a 2-core CI.
//!
//! It sits behind the `html-report` feature, which `cli` enables, so a
//! `default-features = false` library user compiles none of it.

#[cfg(feature = "endpoint-fuzz")]
mod fuzz;
mod provision;
mod replay;

use std::borrow::Cow;

use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;

#[cfg(feature = "endpoint-fuzz")]
pub use fuzz::fuzz;
pub use provision::provision;
pub use replay::{replay, validate};

/// Characters of a body shown before "show more".
pub const PREVIEW_CHARS: usize = 2_000;
/// Characters of a body the page holds at most; the rest is counted, not shown.
pub const MAX_BODY_CHARS: usize = 100_000;

const CSS: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("filter.js");

/// What the page says about the run besides its results. The caller supplies the date
/// (tests pin it), so the same run renders the same page.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// The tenant URL as given (user info, if any, is not shown).
    pub target: String,
    /// The PATCH dialect(s); `None` shows the dialects of the results.
    pub dialect: Option<String>,
    /// The vendor profile, if one was named.
    pub profile: Option<String>,
    /// When the run happened, as the caller wants it shown (RFC 3339 by the CLI).
    pub date: String,
    /// Values never shown (the bearer token): replaced by `[redacted]` in every text the
    /// endpoint sent back.
    pub secrets: Vec<String>,
}

impl RunInfo {
    /// `text` with every secret replaced (the spine's one policy,
    /// [`crate::entra::secrets::Scrubber`]): the token, URL user-info, credential query values.
    pub(crate) fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        crate::entra::secrets::Scrubber::new(&self.secrets).scrub(text)
    }
}

const REDACTED: &str = crate::entra::secrets::REDACTED;

/// How a run ended, for the header and the page's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Passed,
    Failed,
    Unreachable,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Passed => "passed",
            Tone::Failed => "failed",
            Tone::Unreachable => "unreachable",
        }
    }
}

/// The verdict line: its tone and its words.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub(crate) tone: Tone,
    pub(crate) text: String,
}

/// The whole document around a command's sections.
pub(crate) fn page(
    command: &str,
    info: &RunInfo,
    dialects: &str,
    verdict: &Verdict,
    sections: Markup,
) -> String {
    let target = without_user_info(&info.target);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "scimock " (command) " · " (target) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { "scimock " (command) }
                    dl.meta {
                        dt { "target" } dd { code { (target) } }
                        dt { "dialect" } dd { (dialects) }
                        dt { "profile" } dd { (info.profile.as_deref().unwrap_or("none")) }
                        dt { "date" } dd { (info.date) }
                    }
                    p class={ "verdict " (verdict.tone.class()) } id="verdict" { (verdict.text) }
                }
                main { (sections) }
                footer { "written by scimock · one self-contained file: no network, no external assets" }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
    .into_string();
    // maud escapes markup, not control characters: an endpoint's escape sequence, carriage
    // return or NUL is written as `\u{1b}` wherever it landed (no control character but
    // newline and tab is allowed in HTML text, WHATWG HTML §13.1.3).
    crate::entra::secrets::printable(&page).into_owned()
}

/// The tenant URL without `user:password@`.
fn without_user_info(url: &str) -> Cow<'_, str> {
    Cow::Owned(crate::entra::secrets::without_userinfo(url))
}

/// A filter box, hidden until the script shows it; it filters the `[data-filter]` items
/// by what `hint` names.
pub(crate) fn filter_box(what: &str, hint: &str) -> Markup {
    html! {
        p.filter hidden id="filter-box" {
            label {
                "filter " (what) " "
                input type="search" id="filter" placeholder=(hint);
            }
        }
    }
}

/// Counts as a row of labelled numbers; `class` colours a box.
pub(crate) fn counts(items: &[(&str, u64, &str)]) -> Markup {
    html! {
        ul.counts {
            @for (label, n, class) in items {
                li class=[(!class.is_empty()).then_some(class)] {
                    span.n { (n) } " " span.label { (label) }
                }
            }
        }
    }
}

/// `1 step`, `2 steps`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One bar of a chart.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) count: usize,
    /// `failure`, `warning` or `neutral`.
    pub(crate) class: &'static str,
}

/// A horizontal bar chart in inline SVG, one row per bar, longest bar full width; a long
/// label is cut (its whole text is the row's tooltip).
pub(crate) fn bar_chart(title: &str, bars: &[Bar]) -> Markup {
    const ROW: usize = 24;
    const LABEL: usize = 400;
    const LABEL_CHARS: usize = 56;
    const WIDTH: usize = 360;
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let height = ROW * bars.len().max(1);
    html! {
        svg.chart role="img" aria-label=(title) width=(LABEL + WIDTH + 60) height=(height)
            viewBox={ "0 0 " (LABEL + WIDTH + 60) " " (height) } xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for (i, bar) in bars.iter().enumerate() {
                @let y = i * ROW;
                @let w = (bar.count.saturating_mul(WIDTH) / max).clamp(2, WIDTH);
                @let (short, cut) = split_chars(&bar.label, LABEL_CHARS);
                g {
                    title { (bar.label) ": " (bar.count) }
                    text x="4" y=(y + 16) { (short) @if !cut.is_empty() { "…" } }
                    rect class=(bar.class) x=(LABEL) y=(y + 4) width=(w) height=(ROW - 8) rx="2" {}
                    text x=(LABEL + w + 6) y=(y + 16) { (bar.count) }
                }
            }
        }
    }
}

pub(crate) use crate::entra::consequence::split_source;

/// Entra's consequence with its source on a line of its own.
pub(crate) fn consequence(text: &str) -> Markup {
    let (what, source) = split_source(text);
    html! {
        div.entra {
            span.tag { "Entra" } " " (what)
            @if let Some(source) = source {
                div.source { "source: " (source) }
            }
        }
    }
}

/// `text` cut after `n` characters (on a character boundary): `(head, rest)`.
pub(crate) fn split_chars(text: &str, n: usize) -> (&str, &str) {
    match text.char_indices().nth(n) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    }
}

/// A body: pretty JSON (or the text as received), secrets redacted, long ones truncated
/// with the rest behind a `<details>`.
pub(crate) fn body(info: &RunInfo, body: &Value) -> Markup {
    let text = match crate::replay::detail::redact(body) {
        Value::String(s) => s,
        other => serde_json::to_string_pretty(&other).unwrap_or_default(),
    };
    long_text(&info.scrub(&text))
}

/// A long text in `<pre>`, cut at [`PREVIEW_CHARS`] with the rest (up to
/// [`MAX_BODY_CHARS`]) expandable.
pub(crate) fn long_text(text: &str) -> Markup {
    let (head, rest) = split_chars(text, PREVIEW_CHARS);
    let (more, left_out) = split_chars(rest, MAX_BODY_CHARS - PREVIEW_CHARS);
    let more_count = more.chars().count();
    let left_count = left_out.chars().count();
    html! {
        pre.body { (head) }
        @if more_count > 0 {
            details.more {
                summary { "show " (more_count) " more characters" }
                pre.body { (more) }
            }
        }
        @if left_count > 0 {
            p.note { (left_count) " more characters are left out of this page (the JSON report has the whole body)" }
        }
    }
}

/// Header lines, credential headers replaced by name.
pub(crate) fn headers(info: &RunInfo, headers: &[(String, String)]) -> Markup {
    html! {
        @if !headers.is_empty() {
            details.headers {
                summary { "headers (" (headers.len()) ")" }
                pre.body {
                    @for (k, v) in headers {
                        (k) ": " (info.scrub(crate::replay::detail::header_value(k, v))) "\n"
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_source_takes_the_last_balanced_parenthesis() {
        assert_eq!(
            split_source("Entra logs X (Microsoft Learn \"How\" (error codes))"),
            (
                "Entra logs X",
                Some("Microsoft Learn \"How\" (error codes)")
            )
        );
        assert_eq!(split_source("no source"), ("no source", None));
        assert_eq!(split_source("(only a source)"), ("(only a source)", None));
        assert_eq!(split_source("unbalanced)"), ("unbalanced)", None));
    }

    /// A trailing parenthesis that names no source stays part of the text (issue #29: the
    /// manager-string scenario's text rendered as "source: or, where the string is
    /// dropped, …").
    #[test]
    fn a_trailing_remark_in_parentheses_is_not_taken_for_a_source() {
        let text = "Entra fails the create (or, where the string is dropped, re-PATCHes the manager every cycle)";
        assert_eq!(split_source(text), (text, None));
        let html = consequence(text).into_string();
        assert!(!html.contains("source:"), "{html}");
        for (text, source) in [
            ("Entra retries (RFC 7644 §3.12)", "RFC 7644 §3.12"),
            ("Entra retries (§3.6)", "§3.6"),
            (
                "Entra retries (MicrosoftDocs/azure-docs#116775)",
                "MicrosoftDocs/azure-docs#116775",
            ),
            (
                "Entra retries (https://learn.microsoft.com/x)",
                "https://learn.microsoft.com/x",
            ),
            (
                "Entra retries (AzureAD/SCIMReferenceCode, SCIM Validation template)",
                "AzureAD/SCIMReferenceCode, SCIM Validation template",
            ),
        ] {
            assert_eq!(split_source(text), ("Entra retries", Some(source)));
        }
    }

    #[test]
    fn split_chars_cuts_on_character_boundaries() {
        let text = "ééé€€€";
        assert_eq!(split_chars(text, 4), ("ééé€", "€€"));
        assert_eq!(split_chars(text, 10), (text, ""));
        assert_eq!(split_chars("", 3), ("", ""));
    }

    #[test]
    fn user_info_never_reaches_the_page() {
        assert_eq!(
            without_user_info("https://u:p@host:1/scim?x=a@b"),
            "https://[redacted]@host:1/scim?x=a@b"
        );
        assert_eq!(without_user_info("http://h/a@b"), "http://h/a@b");
        assert_eq!(without_user_info("not a url"), "not a url");
    }

    #[test]
    fn scrub_replaces_long_secrets_everywhere_and_short_ones_where_they_stand_alone() {
        let info = RunInfo {
            secrets: vec!["t".into(), "longsecret".into(), String::new()],
            ..RunInfo::default()
        };
        assert_eq!(info.scrub("a t b \"t\""), "a [redacted] b \"[redacted]\"");
        assert_eq!(info.scrub("contoso.com"), "contoso.com");
        assert_eq!(info.scrub("t"), "[redacted]");
        assert_eq!(
            info.scrub("xlongsecretx longsecret"),
            "x[redacted]x [redacted]"
        );
        assert_eq!(info.scrub("none"), "none");
    }
}
