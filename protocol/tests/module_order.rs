//! Keeps the crate's modules in the straight line that `src/lib.rs`
//! documents under "Module order": every `crate::module` path in a module's
//! code names a module earlier in that line, so no import cycle can come
//! back unnoticed, and the documented order stays the true one.
//!
//! Paths through the crate root's re-exports (`crate::PostDraft`,
//! `crate::{…}`) would hide which module is used, so modules must name the
//! module itself. Comments (and so doc links) are not code and may point
//! anywhere.

use std::path::Path;

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// The module names of the ```text block under "# Module order" in lib.rs.
fn documented_order(lib: &str) -> Vec<String> {
    let section = lib
        .split_once("# Module order")
        .map(|(_, rest)| rest)
        .expect("lib.rs documents the module order");
    let block = section
        .split_once("```text")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("the module order is in a ```text block");
    block
        .lines()
        .map(|line| line.trim_start_matches("//!"))
        .flat_map(|line| line.split(|c: char| c.is_whitespace() || c == '→'))
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The modules lib.rs declares (`mod x;` and `pub mod x;`).
fn declared_modules(lib: &str) -> Vec<String> {
    let mut modules: Vec<String> = lib
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or(line.strip_prefix("mod "))?;
            rest.strip_suffix(';').map(str::to_owned)
        })
        .collect();
    modules.sort();
    modules
}

/// Every `crate::…` path in the code lines of `source`: the identifier (or
/// `{`) right after `crate::`, with the line it is on.
fn crate_paths(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let name = if name.is_empty() {
                rest.chars().take(1).collect()
            } else {
                name
            };
            found.push((number + 1, name));
        }
    }
    found
}

#[test]
fn modules_use_only_modules_before_them_in_the_documented_order() {
    let src = Path::new(SRC);
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read lib.rs");
    let order = documented_order(&lib);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        declared_modules(&lib),
        "the documented module order must list every module of lib.rs exactly once"
    );

    let mut wrong = Vec::new();
    for (position, module) in order.iter().enumerate() {
        let file = src.join(format!("{module}.rs"));
        let source = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        for (line, used) in crate_paths(&source) {
            match order.iter().position(|m| *m == used) {
                Some(used_at) if used_at < position => {}
                Some(_) => wrong.push(format!(
                    "{module}.rs:{line} uses crate::{used}, which comes at or after {module}"
                )),
                None => wrong.push(format!(
                    "{module}.rs:{line} uses crate::{used}: name the module, not a root re-export"
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "module order broken:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_sees_a_backward_use_and_a_root_path() {
    let source = "use crate::validate::Message;\n// crate::sign in a comment\nuse crate::{Keypair};\nlet x = crate::PostDraft::new;\n";
    assert_eq!(
        crate_paths(source),
        vec![
            (1, "validate".to_owned()),
            (3, "{".to_owned()),
            (4, "PostDraft".to_owned()),
        ]
    );
}
