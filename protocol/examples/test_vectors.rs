//! Writes `docs/test-vectors.json` to standard output:
//!
//! ```text
//! cargo run -p hearth-protocol --example test_vectors > docs/test-vectors.json
//! ```
//!
//! The generator itself lives in `tests/support/vector_gen.rs`, shared with
//! `tests/vectors.rs`, which fails when the file and the generator differ.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../tests/support/vector_gen.rs"]
mod vector_gen;

fn main() {
    print!("{}", vector_gen::generate());
}
