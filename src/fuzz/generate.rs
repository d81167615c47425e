//! The generator: what one case sends, as abstract [`Step`]s over a few user and group
//! slots, drawn from one seeded RNG ([`sequence`]). Steps hold their values (so shrinking
//! a sequence never changes what the remaining steps send) but not ids: a step names a
//! slot, and the runner maps slots to what the endpoint and the model created there.
//!
//! The shapes are Entra's (see `provision::wire` and `testdata/azure/`): creates
//! with the default mapping's attributes, matching queries on `userName`, `externalId`
//! and `emails[type eq "work"].value` (and `displayName` for groups), attribute PATCHes,
//! disables and re-enables, `""` clears, membership adds and removes in batches and one
//! by one, deletes, and read-backs.

/// How many user slots a case plays with: few, so steps meet the same objects often.
pub const USER_SLOTS: u8 = 4;
/// How many group slots a case plays with.
pub const GROUP_SLOTS: u8 = 2;

/// Users or groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    /// The endpoint's collection: `Users` or `Groups`.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }

    /// A slot number folded into this kind's slots.
    pub fn slot(self, n: u8) -> u8 {
        match self {
            Kind::User => n % USER_SLOTS,
            Kind::Group => n % GROUP_SLOTS,
        }
    }
}

/// How a query writes a value: as stored, or in another case (the attribute's
/// `caseExact` decides whether it still matches: RFC 7643 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum Case {
    #[default]
    Same,
    Upper,
    Lower,
    /// Every letter's case flipped.
    Swap,
}

impl Case {
    /// `text` in this case (Unicode case mapping: `ß` upper-cases to `SS`).
    pub fn apply(self, text: &str) -> String {
        match self {
            Case::Same => text.to_owned(),
            Case::Upper => text.to_uppercase(),
            Case::Lower => text.to_lowercase(),
            Case::Swap => text
                .chars()
                .flat_map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<Vec<_>>()
                    } else {
                        c.to_uppercase().collect::<Vec<_>>()
                    }
                })
                .collect(),
        }
    }
}

/// The attribute a matching query filters on (Entra's default matching attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum MatchBy {
    UserName,
    ExternalId,
    WorkEmail,
}

impl MatchBy {
    /// The filter's attribute path.
    pub fn path(self) -> &'static str {
        match self {
            MatchBy::UserName => "userName",
            MatchBy::ExternalId => "externalId",
            MatchBy::WorkEmail => "emails[type eq \"work\"].value",
        }
    }
}

/// A user attribute an update changes (the default mapping's targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum Attr {
    UserName,
    ExternalId,
    WorkEmail,
    DisplayName,
    Title,
    GivenName,
    FamilyName,
    Department,
}

impl Attr {
    /// Every attribute an update changes.
    pub const ALL: [Attr; 8] = [
        Attr::UserName,
        Attr::ExternalId,
        Attr::WorkEmail,
        Attr::DisplayName,
        Attr::Title,
        Attr::GivenName,
        Attr::FamilyName,
        Attr::Department,
    ];

    /// The mapping target path Entra sends in a PATCH.
    pub fn path(self) -> &'static str {
        match self {
            Attr::UserName => "userName",
            Attr::ExternalId => "externalId",
            Attr::WorkEmail => "emails[type eq \"work\"].value",
            Attr::DisplayName => "displayName",
            Attr::Title => "title",
            Attr::GivenName => "name.givenName",
            Attr::FamilyName => "name.familyName",
            Attr::Department => {
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
            }
        }
    }

    /// Whether Entra may clear it (`""`): not the matching attributes it queries by.
    pub fn clearable(self) -> bool {
        !matches!(self, Attr::UserName | Attr::ExternalId | Attr::WorkEmail)
    }
}

/// A user as Entra's source holds it. The matching values (`user_name`, `external_id`,
/// `email`) are the part before the run's tag: the runner appends the tag (unique per run)
/// when it sends them, and a query's case variant changes only this part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub struct UserValues {
    pub user_name: String,
    pub external_id: String,
    pub email: String,
    pub display_name: String,
    pub given_name: String,
    pub family_name: String,
    pub title: String,
    pub department: String,
}

impl UserValues {
    /// The value of `attr` (untagged).
    pub fn get(&self, attr: Attr) -> &str {
        match attr {
            Attr::UserName => &self.user_name,
            Attr::ExternalId => &self.external_id,
            Attr::WorkEmail => &self.email,
            Attr::DisplayName => &self.display_name,
            Attr::Title => &self.title,
            Attr::GivenName => &self.given_name,
            Attr::FamilyName => &self.family_name,
            Attr::Department => &self.department,
        }
    }

    /// Sets `attr` to `value` (untagged; `""` clears).
    pub fn set(&mut self, attr: Attr, value: &str) {
        let field = match attr {
            Attr::UserName => &mut self.user_name,
            Attr::ExternalId => &mut self.external_id,
            Attr::WorkEmail => &mut self.email,
            Attr::DisplayName => &mut self.display_name,
            Attr::Title => &mut self.title,
            Attr::GivenName => &mut self.given_name,
            Attr::FamilyName => &mut self.family_name,
            Attr::Department => &mut self.department,
        };
        value.clone_into(field);
    }
}

/// One thing Entra sends. Slots are folded into [`USER_SLOTS`] / [`GROUP_SLOTS`]; a step
/// naming a slot that never held an object sends nothing, one naming a deleted object
/// sends to its old id (where a 404 is the answer Entra expects).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum Step {
    /// `POST /Users` with Entra's create body; a slot still holding a user sends nothing.
    CreateUser { slot: u8, user: UserValues },
    /// `POST /Users` whose `userName` is slot `of`'s in another case (`userName` is
    /// unique and case-insensitive: a 409 while that user exists).
    CreateClash {
        of: u8,
        case: Case,
        user: UserValues,
    },
    /// `GET /Users?filter=<by> eq "<slot's value in case>"`.
    Query { slot: u8, by: MatchBy, case: Case },
    /// `PATCH /Users/{id}` changing attributes (`""` clears), in the case's dialect.
    Update {
        slot: u8,
        changes: Vec<(Attr, String)>,
    },
    /// `PATCH /Users/{id}` setting `active` (a disable or a re-enable).
    SetActive { slot: u8, active: bool },
    /// `POST /Groups` with Entra's create body (no members: they follow by PATCH).
    CreateGroup { slot: u8, name: String },
    /// `GET /Groups?filter=displayName eq "<name in case>"`.
    QueryGroup { slot: u8, case: Case },
    /// `PATCH /Groups/{id}` replacing `displayName`.
    RenameGroup { slot: u8, name: String },
    /// `PATCH /Groups/{id}` adding these user slots as members, in one request.
    AddMembers { group: u8, users: Vec<u8> },
    /// `PATCH /Groups/{id}` removing these user slots, in one request.
    RemoveMembers { group: u8, users: Vec<u8> },
    /// `DELETE /{Users|Groups}/{id}`.
    Delete { kind: Kind, slot: u8 },
    /// `GET /{Users|Groups}/{id}`: the read-back compared with the model's.
    Read { kind: Kind, slot: u8 },
}

impl Step {
    /// A short name for reports and scenario steps.
    pub fn label(&self) -> String {
        let u = |s: &u8| Kind::User.slot(*s);
        let g = |s: &u8| Kind::Group.slot(*s);
        match self {
            Step::CreateUser { slot, .. } => format!("create user {}", u(slot)),
            Step::CreateClash { of, case, .. } => {
                format!("create a user clashing with user {} ({case:?})", u(of))
            }
            Step::Query { slot, by, case } => {
                format!("query user {} by {} ({case:?})", u(slot), by.path())
            }
            Step::Update { slot, changes } => {
                // In the order the PATCH sends them (one change per attribute).
                let attrs: std::collections::BTreeSet<Attr> =
                    changes.iter().map(|(a, _)| *a).collect();
                let attrs: Vec<&str> = attrs.iter().map(|a| a.path()).collect();
                format!("update user {} ({})", u(slot), attrs.join(", "))
            }
            Step::SetActive {
                slot,
                active: false,
            } => format!("disable user {}", u(slot)),
            Step::SetActive { slot, active: true } => format!("re-enable user {}", u(slot)),
            Step::CreateGroup { slot, .. } => format!("create group {}", g(slot)),
            Step::QueryGroup { slot, case } => format!("query group {} ({case:?})", g(slot)),
            Step::RenameGroup { slot, .. } => format!("rename group {}", g(slot)),
            Step::AddMembers { group, users } => format!(
                "add user(s) {} to group {}",
                slots(users, Kind::User),
                g(group)
            ),
            Step::RemoveMembers { group, users } => format!(
                "remove user(s) {} from group {}",
                slots(users, Kind::User),
                g(group)
            ),
            Step::Delete { kind, slot } => {
                format!("delete {} {}", noun(*kind), kind.slot(*slot))
            }
            Step::Read { kind, slot } => format!("read {} {}", noun(*kind), kind.slot(*slot)),
        }
    }
}

fn noun(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "user",
        Kind::Group => "group",
    }
}

/// The slots of a member list, each once and in order: a batch naming a user twice sends
/// it once.
fn slots(list: &[u8], kind: Kind) -> String {
    let mut names: Vec<String> = Vec::new();
    for name in list.iter().map(|s| kind.slot(*s).to_string()) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(", ")
}

/// Which slots the generator believes hold objects, so most steps address one that
/// exists (a step naming a never-created slot sends nothing).
#[derive(Debug, Default)]
struct Alive {
    ever: std::collections::BTreeSet<u8>,
    live: std::collections::BTreeSet<u8>,
}

impl Alive {
    /// A free slot for a create, if any.
    fn free(&self, rng: &mut fastrand::Rng, slots: u8) -> Option<u8> {
        let free: Vec<u8> = (0..slots).filter(|s| !self.live.contains(s)).collect();
        (!free.is_empty()).then(|| free[rng.usize(..free.len())])
    }

    /// Up to `max` user slots that held a user (members Entra adds exist in its source).
    fn members(&self, rng: &mut fastrand::Rng, max: usize) -> Vec<u8> {
        let n = rng.usize(1..=max);
        (0..n).filter_map(|_| self.some(rng)).collect()
    }

    /// A slot that held an object: a live one nine times in ten, else any (a deleted
    /// object's id is where a 404 is due).
    fn some(&self, rng: &mut fastrand::Rng) -> Option<u8> {
        let pool: Vec<u8> = if rng.u8(..10) == 0 || self.live.is_empty() {
            self.ever.iter().copied().collect()
        } else {
            self.live.iter().copied().collect()
        };
        (!pool.is_empty()).then(|| pool[rng.usize(..pool.len())])
    }
}

/// The steps of one case: at most `max_steps`, drawn from `seed`; group steps only when
/// `groups` (the endpoint provisions groups). The case ends reading back every slot it
/// created, so a lost write is seen before the case is over.
pub fn sequence(seed: u64, max_steps: usize, groups: bool) -> Vec<Step> {
    use super::values::Gen;
    let mut g = Gen::new(seed);
    let mut steps = Vec::new();
    let (mut users, mut group_slots) = (Alive::default(), Alive::default());
    // Room for the closing read-backs.
    let budget = max_steps.saturating_sub(usize::from(USER_SLOTS) + usize::from(GROUP_SLOTS));
    let budget = budget.max(max_steps.min(2));
    while steps.len() < budget {
        let before = steps.len();
        // The first steps create something to work on.
        let pick = if users.live.is_empty() {
            0
        } else {
            g.rng.u8(..100)
        };
        let user = users.some(&mut g.rng);
        let group = group_slots.some(&mut g.rng);
        match (pick, user, group) {
            (0..=13, ..) => {
                if let Some(slot) = users.free(&mut g.rng, USER_SLOTS) {
                    users.ever.insert(slot);
                    users.live.insert(slot);
                    let user = g.user();
                    steps.push(Step::CreateUser { slot, user });
                }
            }
            (14..=16, Some(of), _) => {
                let (case, user) = (g.case(), g.user());
                steps.push(Step::CreateClash { of, case, user });
            }
            (17..=30, Some(slot), _) => {
                let by = match g.rng.u8(..3) {
                    0 => MatchBy::UserName,
                    1 => MatchBy::ExternalId,
                    _ => MatchBy::WorkEmail,
                };
                let case = g.case();
                steps.push(Step::Query { slot, by, case });
            }
            (31..=43, Some(slot), _) => {
                let n = g.rng.usize(1..=3);
                let changes = (0..n).map(|_| g.change()).collect();
                steps.push(Step::Update { slot, changes });
            }
            (44..=51, Some(slot), _) => {
                let active = g.rng.u8(..3) == 0;
                steps.push(Step::SetActive { slot, active });
            }
            (52..=61, Some(slot), _) => steps.push(Step::Read {
                kind: Kind::User,
                slot,
            }),
            (62..=64, Some(slot), _) => {
                users.live.remove(&slot);
                steps.push(Step::Delete {
                    kind: Kind::User,
                    slot,
                });
            }
            _ if !groups => {}
            (65..=70, ..) => {
                if let Some(slot) = group_slots.free(&mut g.rng, GROUP_SLOTS) {
                    group_slots.ever.insert(slot);
                    group_slots.live.insert(slot);
                    let name = g.unique_text();
                    steps.push(Step::CreateGroup { slot, name });
                }
            }
            (71..=82, _, Some(group)) => {
                let list = users.members(&mut g.rng, 3);
                if g.rng.bool() {
                    steps.push(Step::AddMembers { group, users: list });
                } else {
                    // One by one, as Entra sends a member at a time when it has one.
                    for user in list {
                        steps.push(Step::AddMembers {
                            group,
                            users: vec![user],
                        });
                    }
                }
            }
            (83..=88, _, Some(group)) => {
                let list = users.members(&mut g.rng, 2);
                steps.push(Step::RemoveMembers { group, users: list });
            }
            (89..=90, _, Some(slot)) => {
                let name = g.unique_text();
                steps.push(Step::RenameGroup { slot, name });
            }
            (91..=92, _, Some(slot)) => {
                let case = g.case();
                steps.push(Step::QueryGroup { slot, case });
            }
            (93..=97, _, Some(slot)) => steps.push(Step::Read {
                kind: Kind::Group,
                slot,
            }),
            (98.., _, Some(slot)) => {
                group_slots.live.remove(&slot);
                steps.push(Step::Delete {
                    kind: Kind::Group,
                    slot,
                });
            }
            _ => {}
        }
        // A batch of one-by-one adds may overshoot; the budget is a bound.
        if steps.len() > budget && steps.len() > before + 1 {
            steps.truncate(budget.max(before + 1));
        }
    }
    for slot in users.ever {
        steps.push(Step::Read {
            kind: Kind::User,
            slot,
        });
    }
    for slot in group_slots.ever {
        steps.push(Step::Read {
            kind: Kind::Group,
            slot,
        });
    }
    steps.truncate(max_steps);
    steps
}

/// The seed of case `index` of a run seeded `seed` (splitmix64, so neighbouring seeds
/// give unrelated cases).
pub fn case_seed(seed: u64, index: usize) -> u64 {
    let mut z = seed.wrapping_add((index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::super::values::{UPN_LOCAL_MAX, UPN_SPECIAL};
    use super::*;

    #[test]
    fn a_seed_gives_the_same_sequence_and_the_budget_holds() {
        for seed in 0..50 {
            let a = sequence(seed, 30, true);
            assert_eq!(a, sequence(seed, 30, true));
            assert!(!a.is_empty() && a.len() <= 30, "{}", a.len());
            assert!(matches!(a[0], Step::CreateUser { .. }));
        }
        assert_ne!(sequence(1, 30, true), sequence(2, 30, true));
        assert!(sequence(3, 30, false).iter().all(|s| !matches!(
            s,
            Step::CreateGroup { .. }
                | Step::AddMembers { .. }
                | Step::RemoveMembers { .. }
                | Step::Read {
                    kind: Kind::Group,
                    ..
                }
        )));
        assert!(sequence(4, 1, true).len() == 1);
    }

    /// The user values and group names the steps of `seeds` carry, with every change.
    fn generated(
        seeds: std::ops::Range<u64>,
    ) -> (Vec<UserValues>, Vec<(Attr, String)>, Vec<String>) {
        let (mut users, mut changes, mut groups) = (Vec::new(), Vec::new(), Vec::new());
        for seed in seeds {
            for step in sequence(seed, 40, true) {
                match step {
                    Step::CreateUser { user, .. } | Step::CreateClash { user, .. } => {
                        users.push(user)
                    }
                    Step::Update { changes: c, .. } => changes.extend(c),
                    Step::CreateGroup { name, .. } | Step::RenameGroup { name, .. } => {
                        groups.push(name)
                    }
                    _ => {}
                }
            }
        }
        (users, changes, groups)
    }

    /// The user name before a UPN's `@` as Microsoft Entra ID's username policy allows it
    /// ("Password policies and account restrictions in Microsoft Entra ID"), with no
    /// leading, trailing or doubled `.`.
    fn upn_local_ok(local: &str) -> bool {
        !local.is_empty()
            && local.len() <= UPN_LOCAL_MAX
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || UPN_SPECIAL.contains(&c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
    }

    #[test]
    fn user_names_and_work_emails_stay_within_entras_username_policy() {
        let (users, changes, _) = generated(0..300);
        let mut values: Vec<String> = Vec::new();
        for u in &users {
            values.push(u.user_name.clone());
            values.push(u.email.clone());
        }
        for (attr, value) in &changes {
            if matches!(attr, Attr::UserName | Attr::WorkEmail) {
                values.push(value.clone());
            }
        }
        assert!(values.len() > 1000, "{}", values.len());
        let tag = "0eb218fa-0604-4d56-93e8-5a1b2c3d4e5f";
        let mut longest = 0;
        for v in &values {
            for case in [Case::Same, Case::Upper, Case::Lower, Case::Swap] {
                let local = case.apply(v);
                assert!(upn_local_ok(&local), "{local:?}");
                // As the runner sends it: one `@`, an ASCII domain of at most 48
                // characters, at most 113 in all.
                let upn = crate::fuzz::render::tagged(Attr::UserName, &local, tag);
                let (l, domain) = upn.split_once('@').unwrap();
                assert_eq!(l, local);
                assert!(!domain.contains('@') && domain.is_ascii() && domain.len() <= 48);
                assert!(upn.len() <= 113, "{upn}");
            }
            longest = longest.max(v.len());
        }
        // Long ones too, up to the limit.
        assert!(longest > 50, "{longest}");
    }

    #[test]
    fn matching_values_hold_no_quote_or_backslash_and_other_values_still_do() {
        let (users, changes, groups) = generated(0..300);
        let clean = |v: &str| !v.contains(['"', '\\']);
        for u in &users {
            for v in [&u.user_name, &u.external_id, &u.email] {
                assert!(clean(v), "{v:?}");
            }
        }
        for (attr, value) in &changes {
            if !attr.clearable() {
                assert!(clean(value), "{attr:?} {value:?}");
            }
        }
        assert!(groups.iter().all(|g| clean(g)), "{groups:?}");
        // externalId and group names keep their Unicode; free text keeps everything.
        assert!(users.iter().any(|u| !u.external_id.is_ascii()));
        assert!(groups.iter().any(|g| !g.is_ascii()));
        let free = || {
            users
                .iter()
                .flat_map(|u| [&u.display_name, &u.title, &u.department])
        };
        assert!(free().any(|v| v.contains('"')) && free().any(|v| v.contains('\\')));
        assert!(free().any(|v| !v.is_ascii()));
    }

    #[test]
    fn case_variants_change_only_letters() {
        assert_eq!(Case::Swap.apply("aB\"+1ß"), "Ab\"+1SS");
        assert_eq!(Case::Upper.apply("é@x"), "É@X");
        assert_eq!(Case::Same.apply("Mixed"), "Mixed");
    }

    #[test]
    fn a_batch_label_names_each_user_once() {
        let step = Step::RemoveMembers {
            group: 0,
            users: vec![0, 3, 0],
        };
        assert_eq!(step.label(), "remove user(s) 0, 3 from group 0");
    }

    #[test]
    fn work_phones_are_e164_and_differ_between_users() {
        let users: Vec<UserValues> = (0..50)
            .flat_map(|seed| sequence(seed, 30, false))
            .filter_map(|step| match step {
                Step::CreateUser { user, .. } => Some(user),
                _ => None,
            })
            .collect();
        let phones: std::collections::BTreeSet<String> =
            users.iter().map(super::super::values::work_phone).collect();
        for phone in &phones {
            // ITU-T E.164: `+`, then at most 15 digits.
            let digits = phone.strip_prefix('+').unwrap();
            assert!(
                digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()),
                "{phone}"
            );
        }
        assert!(
            phones.len() * 10 > users.len() * 9,
            "{} of {}",
            phones.len(),
            users.len()
        );
    }
}
