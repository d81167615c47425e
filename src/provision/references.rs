//! The reference pass (entra-engine §4.3): each in-scope user's manager, exported as the
//! manager's target id once both ends exist, in a PATCH of its own after the user's.

use serde_json::Value;

use super::directory::User;
use super::engine::{Cycle, Draft};
use super::log::{Action, Status, StepType};
use super::target::Request;
use super::wire::{self, Change};

impl Cycle<'_> {
    /// The reference pass: each in-scope user's manager, as the manager's target id, once
    /// both ends exist; a separate PATCH after the user's own (entra-engine §4.3).
    pub(crate) async fn references(&mut self, u: &User) {
        let refs: Vec<_> = self
            .config
            .users
            .mappings
            .iter()
            .filter(|m| m.reference)
            .cloned()
            .collect();
        for m in refs {
            let Some(link) = self.state.users.get(&u.id).cloned() else {
                return;
            };
            let Some(mgr) = u.manager() else { continue };
            let Some(mgr_id) = self.state.users.get(&mgr).map(|l| l.target_id.clone()) else {
                continue;
            };
            let new = Value::String(mgr_id);
            let old = link.exported.get(&m.target).cloned();
            if old.as_ref() == Some(&new) {
                continue;
            }
            let mut d = Draft::new("User", &u.id, &u.display());
            d.target_id = link.target_id.clone();
            let change = Change {
                path: m.target.clone(),
                old,
                new: new.clone(),
            };
            let body = wire::patch(self.config.dialect(), std::slice::from_ref(&change));
            if let Err(f) = self
                .write(Request::patch("Users", &link.target_id, body))
                .await
            {
                self.fail(
                    d,
                    Action::Update,
                    "EntryExportUpdate",
                    "update the manager of",
                    f,
                    true,
                );
                continue;
            }
            d.changes(std::slice::from_ref(&change));
            d.step(
                "EntryExportUpdate",
                StepType::ReferenceResolution,
                Status::Success,
                format!(
                    "User '{}' was updated in {} (reference attribute {})",
                    d.name,
                    self.app(),
                    m.target
                ),
            );
            if let Some(l) = self.state.users.get_mut(&u.id) {
                l.exported.insert(m.target.clone(), new);
            }
            self.finish(d, Action::Update, Status::Success, None);
        }
    }
}
