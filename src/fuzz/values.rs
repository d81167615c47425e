//! The seeded source of every value a case sends ([`Gen`]), and what values are made of:
//! free text full of what breaks naive endpoints, matching values narrowed to what Entra's
//! source attributes can hold (see docs/fuzz.md, "Tolerances").

use super::generate::{Attr, Case, UserValues};

/// Characters values are made of besides ASCII letters and digits: what breaks naive
/// endpoints (quotes and backslashes in JSON strings, `+` in form-encoded queries, `@`,
/// `%`, `/` in ids and paths) and Unicode whose case mapping is not one-to-one. No `$`:
/// a written scenario would read `${` as a variable. The first two, `"` and `\`, are left
/// out of matching values ([`MATCHING_SPECIAL`]).
pub(crate) const SPECIAL: &[&str] = &[
    "\"", "\\", "+", "@", " ", "'", "%", "&", ".", "-", "_", "/", "é", "Ü", "ß", "İ", "ı", "Ω",
    "ﬁ", "日本", "😀", "Ä", "ǅ", "Ǆ",
];

/// [`SPECIAL`] without `"` and `\`: what the values Entra matches by and puts in a filter
/// (`externalId`, a group's `displayName`) are made of. Entra's matching attributes
/// (default sources `mailNickname`, `userPrincipalName`, `objectId`) hold neither, and
/// "Known issues for provisioning in Microsoft Entra ID"
/// (<https://learn.microsoft.com/en-us/entra/identity/app-provisioning/known-issues>)
/// says filter values with special characters are not supported. Escaping stays correct
/// for any value all the same (`entra::wire::eq_filter`, RFC 7644 §3.4.2.2).
pub(crate) const MATCHING_SPECIAL: &[&str] = SPECIAL.split_at(2).1;

/// What a UPN's user name (before the `@`) may hold, and so what Entra can send as
/// `userName` (source `userPrincipalName`) and as the work email (source `mail`), besides
/// ASCII letters and digits. "Password policies and account restrictions in Microsoft
/// Entra ID", Username policies
/// (<https://learn.microsoft.com/en-us/entra/identity/authentication/concept-sspr-policy>):
/// "A – Z, a - z, 0 – 9, ' . - _ ! # ^ ~"; no `@` but the one before the domain; no `.`
/// right before the `@`; up to 64 characters before the `@`, 48 after it, 113 in all.
/// "Microsoft Entra UserPrincipalName population"
/// (<https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/plan-connect-userprincipalname>):
/// a UPN is an RFC 822 name, prefix `@` DNS domain. So no Unicode (django-scim2 refused
/// `2ß~3@…` as an invalid email), no second `@`, no space or `"`; and, as in an RFC 5322
/// dot-atom, no leading, trailing or doubled `.`.
pub(crate) const UPN_SPECIAL: &[char] = &['\'', '.', '-', '_', '!', '#', '^', '~'];

/// The longest user name before a UPN's `@` (the same page).
pub(crate) const UPN_LOCAL_MAX: usize = 64;

/// The user's work phone (Entra's `telephoneNumber`), in E.164 (ITU-T E.164: `+`, country
/// code, at most 15 digits) because AlexisHR's tutorial requires that format and the
/// other tutorials map the number as it is: `+1 425` and seven digits drawn from the
/// user's values, so a seed gives the same number.
pub(crate) fn work_phone(user: &UserValues) -> String {
    // FNV-1a over the values that make the user.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in user.external_id.bytes().chain(user.user_name.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("+1425{:07}", h % 10_000_000)
}

/// The seeded source of every generated value, so a seed gives the same values.
#[derive(Debug)]
pub(super) struct Gen {
    pub(super) rng: fastrand::Rng,
    /// Appended to matching values so two users never share one by chance (Entra's
    /// `DuplicateTargetEntries` is not what a case is about).
    unique: u32,
}

impl Gen {
    pub(super) fn new(seed: u64) -> Gen {
        Gen {
            rng: fastrand::Rng::with_seed(seed),
            unique: 0,
        }
    }

    /// A value: mostly short, sometimes long (up to 300 characters), a third of its
    /// characters from [`SPECIAL`].
    fn text(&mut self) -> String {
        self.text_of(SPECIAL)
    }

    /// A value as [`Gen::text`], its special characters from `special`.
    fn text_of(&mut self, special: &[&str]) -> String {
        let len = if self.rng.u8(..10) == 0 {
            self.rng.usize(64..300)
        } else {
            self.rng.usize(1..12)
        };
        let mut out = String::new();
        for _ in 0..len {
            match self.rng.u8(..6) {
                0 | 1 => out.push_str(special[self.rng.usize(..special.len())]),
                2 => out.push(self.rng.digit(10)),
                _ if self.rng.bool() => out.push(self.rng.uppercase()),
                _ => out.push(self.rng.lowercase()),
            }
        }
        // A value of spaces only would be trimmed or refused by some stores as empty.
        if out.trim().is_empty() {
            out.push('x');
        }
        out
    }

    /// A matching value (`externalId`, a group's name): a [`Gen::text`] without `"` or
    /// `\` ([`MATCHING_SPECIAL`]), made unique within the case.
    pub(super) fn unique_text(&mut self) -> String {
        let text = self.text_of(MATCHING_SPECIAL);
        self.unique += 1;
        format!("{text}~{}", self.unique)
    }

    /// The user name of a UPN or a mail address (the runner adds `@<tag>.test`): letters,
    /// digits and [`UPN_SPECIAL`], no leading or doubled `.`, made unique within the case
    /// by a `~n` suffix (so it never ends in `.`), at most [`UPN_LOCAL_MAX`] characters in
    /// all; mostly short, sometimes as long as allowed.
    fn upn_local(&mut self) -> String {
        self.unique += 1;
        let suffix = format!("~{}", self.unique);
        let room = UPN_LOCAL_MAX.saturating_sub(suffix.len()).max(1);
        let len = if self.rng.u8(..10) == 0 {
            self.rng.usize(room.min(40)..=room)
        } else {
            self.rng.usize(1..12).min(room)
        };
        let mut out = String::with_capacity(UPN_LOCAL_MAX);
        while out.len() < len {
            let c = match self.rng.u8(..6) {
                0 | 1 => UPN_SPECIAL[self.rng.usize(..UPN_SPECIAL.len())],
                2 => self.rng.digit(10),
                _ if self.rng.bool() => self.rng.uppercase(),
                _ => self.rng.lowercase(),
            };
            if c == '.' && (out.is_empty() || out.ends_with('.')) {
                continue;
            }
            out.push(c);
        }
        out + &suffix
    }

    pub(super) fn user(&mut self) -> UserValues {
        UserValues {
            user_name: self.upn_local(),
            external_id: self.unique_text(),
            email: self.upn_local(),
            display_name: self.text(),
            given_name: self.text(),
            family_name: self.text(),
            title: self.text(),
            department: self.text(),
        }
    }

    pub(super) fn case(&mut self) -> Case {
        match self.rng.u8(..4) {
            0 => Case::Same,
            1 => Case::Upper,
            2 => Case::Lower,
            _ => Case::Swap,
        }
    }

    fn attr(&mut self) -> Attr {
        Attr::ALL[self.rng.usize(..Attr::ALL.len())]
    }

    pub(super) fn change(&mut self) -> (Attr, String) {
        let attr = self.attr();
        let value = if attr.clearable() && self.rng.u8(..5) == 0 {
            String::new()
        } else if attr.clearable() {
            self.text()
        } else if attr == Attr::ExternalId {
            self.unique_text()
        } else {
            self.upn_local()
        };
        (attr, value)
    }
}
