//! What one run of a sequence knows between steps: which object each slot holds on the
//! endpoint and in the model (their ids differ: [`Handle`]), the name a written scenario
//! captures it under, and the values Entra believes each user has (what its queries
//! and PATCHes are built from). The world changes only when the model accepted a step,
//! so it is the target as scimock's semantics say it must be.

use std::collections::BTreeMap;

use super::generate::{Kind, UserValues};

/// One object created on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handle {
    /// The endpoint's id for it.
    pub(crate) endpoint: String,
    /// The model's id for it.
    pub(crate) model: String,
    /// The variable a written scenario captures its id in (`user0`, `user0_2`).
    pub(crate) var: String,
}

/// A slot: the object it holds, and whether it still exists.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) handle: Handle,
    pub(crate) live: bool,
}

/// Which side a request is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Endpoint,
    Model,
    /// A written scenario: `${var}` for ids, `${tag}` for the run's tag.
    Template,
}

/// The run's state between steps.
#[derive(Debug, Default)]
pub(crate) struct World {
    slots: BTreeMap<(Kind, u8), Slot>,
    /// Each user slot's values as Entra's source holds them (kept after a delete, so a
    /// query for a deleted user is still sent and must find nothing).
    pub(crate) users: BTreeMap<u8, UserValues>,
    pub(crate) active: BTreeMap<u8, bool>,
    pub(crate) groups: BTreeMap<u8, String>,
    /// Objects both sides created outside any slot (a clashing create both accepted):
    /// cleaned up at the end, and translated in comparisons.
    extra: Vec<(Kind, Handle)>,
    /// Objects only the endpoint created (a create the model refused): cleaned up.
    orphans: Vec<(Kind, String)>,
    /// Deleted objects whose slot was created again: still translated (an endpoint may
    /// list a deleted user as a member).
    retired: Vec<Handle>,
    created: BTreeMap<(Kind, u8), usize>,
}

impl World {
    /// The slot's object, live or deleted.
    pub(crate) fn slot(&self, kind: Kind, slot: u8) -> Option<&Slot> {
        self.slots.get(&(kind, kind.slot(slot)))
    }

    /// Whether the slot holds a live object.
    pub(crate) fn live(&self, kind: Kind, slot: u8) -> bool {
        self.slot(kind, slot).is_some_and(|s| s.live)
    }

    /// The id of the slot's object for `side` (its last one when deleted).
    pub(crate) fn id(&self, kind: Kind, slot: u8, side: Side) -> Option<String> {
        self.slot(kind, slot).map(|s| s.handle.id(side))
    }

    /// A fresh handle's variable name for an object created in `slot`.
    pub(crate) fn var(&mut self, kind: Kind, slot: u8) -> String {
        let slot = kind.slot(slot);
        let n = self.created.entry((kind, slot)).or_default();
        *n += 1;
        let noun = match kind {
            Kind::User => "user",
            Kind::Group => "group",
        };
        if *n == 1 {
            format!("{noun}{slot}")
        } else {
            format!("{noun}{slot}_{n}")
        }
    }

    /// Records an object both sides created in `slot`.
    pub(crate) fn created(&mut self, kind: Kind, slot: u8, handle: Handle) {
        let old = self
            .slots
            .insert((kind, kind.slot(slot)), Slot { handle, live: true });
        self.retired.extend(old.map(|s| s.handle));
    }

    /// Records an object created outside any slot.
    pub(crate) fn extra(&mut self, kind: Kind, handle: Handle) {
        self.extra.push((kind, handle));
    }

    /// Records an object only the endpoint created.
    pub(crate) fn orphan(&mut self, kind: Kind, endpoint_id: String) {
        self.orphans.push((kind, endpoint_id));
    }

    /// Marks the slot's object deleted.
    pub(crate) fn deleted(&mut self, kind: Kind, slot: u8) {
        if let Some(s) = self.slots.get_mut(&(kind, kind.slot(slot))) {
            s.live = false;
        }
    }

    /// Every handle ever created, slots first.
    pub(crate) fn handles(&self) -> impl Iterator<Item = &Handle> {
        self.slots
            .values()
            .map(|s| &s.handle)
            .chain(self.extra.iter().map(|(_, h)| h))
            .chain(&self.retired)
    }

    /// The endpoint objects to delete at the end, groups first (a group's members go with
    /// it), then users; extras and orphans last.
    pub(crate) fn cleanup(&self) -> Vec<(Kind, String)> {
        let mut out: Vec<(Kind, String)> = Vec::new();
        for kind in [Kind::Group, Kind::User] {
            for ((k, _), s) in &self.slots {
                if *k == kind && s.live {
                    out.push((kind, s.handle.endpoint.clone()));
                }
            }
        }
        out.extend(self.extra.iter().map(|(k, h)| (*k, h.endpoint.clone())));
        out.extend(self.orphans.iter().cloned());
        out
    }

    /// The handle's variable for an id on `side` (`None` for an id no step created).
    pub(crate) fn var_of(&self, side: Side, id: &str) -> Option<&str> {
        self.handles()
            .find(|h| match side {
                Side::Endpoint => h.endpoint == id,
                Side::Model => h.model == id,
                Side::Template => h.var == id,
            })
            .map(|h| h.var.as_str())
    }
}

impl World {
    /// The object an id on `side` names, in words: its variable, `(deleted)` after it
    /// when it no longer exists; `None` for an id no step created.
    pub(crate) fn describe(&self, side: Side, id: &str) -> Option<String> {
        let var = self.var_of(side, id)?;
        let live = self.slots.values().any(|s| s.live && s.handle.var == var)
            || self.extra.iter().any(|(_, h)| h.var == var);
        Some(if live {
            var.to_owned()
        } else {
            format!("{var} (deleted)")
        })
    }
}

impl Handle {
    /// The id as `side` writes it.
    pub(crate) fn id(&self, side: Side) -> String {
        match side {
            Side::Endpoint => self.endpoint.clone(),
            Side::Model => self.model.clone(),
            Side::Template => format!("${{{}}}", self.var),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(n: u8) -> Handle {
        Handle {
            endpoint: format!("e{n}"),
            model: format!("m{n}"),
            var: format!("v{n}"),
        }
    }

    #[test]
    fn a_recreated_slot_keeps_its_old_object_translatable_and_cleans_up_the_live_one() {
        let mut w = World::default();
        w.created(Kind::User, 1, handle(1));
        w.deleted(Kind::User, 1);
        w.created(Kind::User, 5, handle(2)); // slot 5 folds onto slot 1
        assert_eq!(w.var_of(Side::Endpoint, "e1"), Some("v1"));
        assert_eq!(w.describe(Side::Endpoint, "e1").unwrap(), "v1 (deleted)");
        assert_eq!(w.describe(Side::Model, "m2").unwrap(), "v2");
        assert_eq!(w.var_of(Side::Model, "m2"), Some("v2"));
        assert_eq!(
            w.id(Kind::User, 1, Side::Template).as_deref(),
            Some("${v2}")
        );
        assert_eq!(w.cleanup(), vec![(Kind::User, "e2".to_owned())]);
    }
}
