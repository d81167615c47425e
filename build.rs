//! Rebuilds the crate when a recorded Entra sequence is added, changed or removed:
//! `include_dir!` embeds `testdata/azure/` but cannot tell cargo to watch the folder.
fn main() {
    println!("cargo:rerun-if-changed=testdata/azure");
}
