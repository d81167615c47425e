//! The reference pass (entra-engine §4.3): each in-scope user's manager, exported as the
//! manager's target id once both ends exist, in a PATCH of its own after the user's.

use serde_json::Value;

use super::directory::User;
use super::engine::{Cycle, Draft};
use super::writes::{reference_change, PatchSync, Purpose};

impl Cycle<'_> {
    /// The reference pass: each in-scope user's manager, as the manager's target id, once
    /// both ends exist; a separate PATCH after the user's own (entra-engine §4.3).
    ///
    /// Entra resolves a reference when it processes the user: a user it created, matched or
    /// updated this cycle, or whose manager changed in the source. A manager who comes into
    /// scope later does not make Entra revisit the users who report to them (Microsoft
    /// Learn "Known issues for provisioning in Microsoft Entra ID": not fixed until a
    /// restart, which re-evaluates everyone).
    pub(crate) async fn references(&mut self, u: &User) {
        let Some(link) = self.state.users.get_mut(&u.id) else {
            return;
        };
        let processed = link.last_cycle.as_deref() == Some(self.cycle_id.as_str());
        let manager = u.manager();
        if !processed && link.manager == manager {
            return;
        }
        link.manager = manager;
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
            let old = link.exported.get(&m.target).cloned();
            if old.as_ref().and_then(Value::as_str) == Some(mgr_id.as_str()) {
                continue;
            }
            let mut d = Draft::new("User", &u.id, &u.display());
            d.target_id = link.target_id.clone();
            let change = reference_change(&m.target, old, mgr_id);
            let first = PatchSync::start(self, d, &u.id, vec![change], Purpose::Reference);
            self.drive(first).await;
        }
    }
}
