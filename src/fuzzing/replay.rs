//! Fuzz body for `replay_fixture`: the recorded-sequence format.

/// `replay_fixture`: any bytes as a recorded Entra sequence (`testdata/azure/*.json`
/// format). Loading never panics; a scenario that loads serializes back to JSON that loads
/// to the same scenario; substituting its strings never panics.
pub fn replay_fixture(data: &[u8]) {
    use crate::replay::scenario::{Scenario, Vars};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scenario) = Scenario::from_json(text, "fuzz") else {
        return;
    };
    let json = serde_json::to_string(&scenario).unwrap_or_else(|e| panic!("serialize: {e}"));
    let again = Scenario::from_json(&json, "fuzz").unwrap_or_else(|e| panic!("reload: {e}"));
    assert_eq!(again, scenario, "scenario changed on a JSON round trip");
    let mut vars = Vars::seeded(1);
    for (name, template) in &scenario.vars {
        if let Ok(v) = vars.substitute(template) {
            vars.set(name, v);
        }
    }
    for step in &scenario.steps {
        let _ = vars.substitute(&step.request.path);
        if let Some(body) = &step.request.body {
            let _ = vars.substitute_json(body);
        }
    }
}
