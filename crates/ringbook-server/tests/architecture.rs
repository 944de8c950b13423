//! The server's import rules (ARCHITECTURE.md, "Inside the server"), checked on its source:
//! - the product parts form an acyclic graph: a part may use the parts below it (messaging uses
//!   identity, contacts use presence, …) and never the other way round;
//! - no part names the composition root's entry points (`crate::router`, `crate::run`,
//!   `App::build`) or the shared core's construction: parts are built, they do not build.
//!
//! A structural test on purpose: a cycle between parts compiles fine in one crate and only shows
//! when someone tries to move a part out, or to start it alone.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The product parts: a folder (or file) each under `src/`.
const PARTS: &[&str] = &[
    "identity",
    "contacts",
    "presence",
    "messaging",
    "profiles",
    "openplatform",
    "official",
    "services",
    "sms_inbound",
];

fn sources(part: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let dir = src.join(part);
    if dir.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        files.sort();
        files
    } else {
        vec![src.join(format!("{part}.rs"))]
    }
}

/// Code lines only: doc comments may link anywhere.
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Which other parts each part names as `crate::<part>`.
fn part_graph() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let mut graph = BTreeMap::new();
    for &part in PARTS {
        let mut uses = BTreeSet::new();
        for file in sources(part) {
            let text = code(&std::fs::read_to_string(&file).unwrap());
            for &other in PARTS {
                if other != part && text.contains(&format!("crate::{other}::")) {
                    uses.insert(other);
                }
            }
        }
        graph.insert(part, uses);
    }
    graph
}

fn find_cycle(graph: &BTreeMap<&'static str, BTreeSet<&'static str>>) -> Option<Vec<&'static str>> {
    fn visit(
        node: &'static str,
        graph: &BTreeMap<&'static str, BTreeSet<&'static str>>,
        path: &mut Vec<&'static str>,
        done: &mut BTreeSet<&'static str>,
    ) -> Option<Vec<&'static str>> {
        if let Some(i) = path.iter().position(|&n| n == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node);
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node);
        for &next in &graph[node] {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    for &start in graph.keys() {
        if let Some(c) = visit(start, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn the_parts_form_an_acyclic_graph() {
    let graph = part_graph();
    for (part, uses) in &graph {
        eprintln!("{part} -> {uses:?}");
    }
    assert_eq!(find_cycle(&graph), None, "a cycle between parts");
    // The foundation parts use no other part.
    for base in ["identity", "presence"] {
        assert!(graph[base].is_empty(), "{base} uses {:?}", graph[base]);
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let mut graph = part_graph();
    graph.get_mut("identity").unwrap().insert("services");
    let cycle = find_cycle(&graph).expect("identity -> services -> identity");
    assert!(
        cycle.contains(&"identity") && cycle.contains(&"services"),
        "{cycle:?}"
    );
}

#[test]
fn no_part_uses_the_composition_roots_entry_points() {
    for &part in PARTS {
        for file in sources(part) {
            let text = code(&std::fs::read_to_string(&file).unwrap());
            for root in [
                "crate::router",
                "crate::run(",
                "App::build",
                "Core {",
                "Workers::default",
            ] {
                assert!(
                    !text.contains(root),
                    "{} uses {root}: only lib.rs builds and runs the server",
                    file.display()
                );
            }
        }
    }
}
