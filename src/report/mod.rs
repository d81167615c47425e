//! Reports a person opens, as opposed to the terminal, JUnit and JSON reports that CI reads
//! (those stay with their runs: [`crate::replay::report`], [`crate::provision::log`]).
//!
//! - [`html`]: one self-contained HTML page for a `replay`, `validate`, `provision`
//!   or `fuzz` run.

pub mod html;
