//! Deterministic ordering of extensions from their [`Deps`](crate::Deps).

use std::collections::{BTreeSet, HashMap};

use crate::error::Error;
use crate::extension::Deps;

/// Orders `items` (name, deps) so every constraint holds; ties keep registration order.
///
/// Returns indices into `items`. A missing `requires` target, a duplicate name or a cycle is an
/// error. Kahn's algorithm, always taking the ready item registered first, so the result
/// depends only on the inputs.
pub(crate) fn resolve(items: &[(String, Deps)]) -> Result<Vec<usize>, Error> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (i, (name, _)) in items.iter().enumerate() {
        if index.insert(name.as_str(), i).is_some() {
            return Err(Error::Duplicate(name.clone()));
        }
    }
    // edges[a] contains b when a must come before b.
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); items.len()];
    for (i, (name, deps)) in items.iter().enumerate() {
        for required in deps.required() {
            let &j = index
                .get(required.as_str())
                .ok_or_else(|| Error::MissingDependency { extension: name.clone(), requires: required.clone() })?;
            edges[j].insert(i);
        }
        for other in deps.runs_after() {
            if let Some(&j) = index.get(other.as_str()) {
                edges[j].insert(i);
            }
        }
        for other in deps.runs_before() {
            if let Some(&j) = index.get(other.as_str()) {
                edges[i].insert(j);
            }
        }
    }
    let mut indegree = vec![0usize; items.len()];
    for targets in &edges {
        for &t in targets {
            indegree[t] += 1;
        }
    }
    let mut ready: BTreeSet<usize> = (0..items.len()).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(items.len());
    while let Some(next) = ready.pop_first() {
        order.push(next);
        for &t in &edges[next] {
            indegree[t] -= 1;
            if indegree[t] == 0 {
                ready.insert(t);
            }
        }
    }
    if order.len() < items.len() {
        return Err(Error::Cycle(find_cycle(items, &edges, &indegree)));
    }
    Ok(order)
}

/// Names one cycle among the items left with a non-zero in-degree, first name repeated last.
fn find_cycle(items: &[(String, Deps)], edges: &[BTreeSet<usize>], indegree: &[usize]) -> Vec<String> {
    let stuck = |i: usize| indegree[i] > 0;
    let start = (0..items.len()).find(|&i| stuck(i)).unwrap_or(0);
    // Every stuck node has a stuck predecessor, so walking predecessors must revisit a node.
    let mut path = vec![start];
    let mut current = start;
    while let Some(pred) = (0..items.len()).find(|&p| stuck(p) && edges[p].contains(&current)) {
        if let Some(pos) = path.iter().position(|&n| n == pred) {
            let mut cycle: Vec<usize> = path[pos..].to_vec();
            cycle.reverse();
            cycle.push(cycle[0]);
            return cycle.into_iter().map(|i| items[i].0.clone()).collect();
        }
        path.push(pred);
        current = pred;
    }
    path.into_iter().map(|i| items[i].0.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(items: &[(String, Deps)]) -> Result<Vec<String>, Error> {
        Ok(resolve(items)?.into_iter().map(|i| items[i].0.clone()).collect())
    }

    fn item(name: &str, deps: Deps) -> (String, Deps) {
        (name.to_owned(), deps)
    }

    #[test]
    fn ties_keep_registration_order() {
        let items = [item("c", Deps::none()), item("a", Deps::none()), item("b", Deps::none())];
        assert_eq!(names(&items).unwrap(), ["c", "a", "b"]);
    }

    #[test]
    fn requires_puts_the_dependency_first() {
        let items = [item("login", Deps::none().requires("sql")), item("sql", Deps::none())];
        assert_eq!(names(&items).unwrap(), ["sql", "login"]);
    }

    #[test]
    fn missing_requirement_is_an_error_naming_both() {
        let items = [item("login", Deps::none().requires("sql"))];
        let err = names(&items).unwrap_err();
        assert!(
            matches!(&err, Error::MissingDependency { extension, requires } if extension == "login" && requires == "sql")
        );
    }

    #[test]
    fn soft_constraints_apply_only_when_present() {
        let items = [
            item("cache", Deps::none().after("redis").before("limiter")),
            item("limiter", Deps::none()),
            item("redis", Deps::none()),
        ];
        assert_eq!(names(&items).unwrap(), ["redis", "cache", "limiter"]);
        let alone = [item("cache", Deps::none().after("redis"))];
        assert_eq!(names(&alone).unwrap(), ["cache"]);
    }

    #[test]
    fn cycle_is_named() {
        let items = [
            item("a", Deps::none().requires("c")),
            item("b", Deps::none().requires("a")),
            item("c", Deps::none().after("b")),
            item("d", Deps::none()),
        ];
        let err = names(&items).unwrap_err();
        let Error::Cycle(cycle) = &err else { panic!("expected a cycle, got {err}") };
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4);
        for name in ["a", "b", "c"] {
            assert!(cycle.contains(&name.to_owned()), "{cycle:?}");
        }
        assert!(err.to_string().contains(" -> "));
    }

    #[test]
    fn duplicate_name_is_an_error() {
        let items = [item("sql", Deps::none()), item("sql", Deps::none())];
        assert!(matches!(names(&items).unwrap_err(), Error::Duplicate(n) if n == "sql"));
    }
}
