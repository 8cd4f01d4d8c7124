//! [`Migrations`]: the folder of revision files as a validated graph.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::error::MigrateError;
use crate::revision::Revision;

/// Every revision in a migrations folder, as a graph: parents (`down_revision`), children,
/// heads, bases and branch labels. Loading validates it: duplicate ids, parents that no file
/// defines, cycles and duplicate branch labels are errors naming the files.
///
/// Revisions are kept in topological order (parents first; among revisions that could go
/// either way, by `created` then file name), which is the order `upgrade` applies them in.
///
/// # Examples
///
/// ```
/// use phial_migrate::Migrations;
///
/// let folder = tempfile::tempdir()?;
/// std::fs::write(folder.path().join("a_first.sql"), "-- revision: a\n-- down_revision:\n-- +up\nSELECT 1;\n")?;
/// std::fs::write(folder.path().join("b_second.sql"), "-- revision: b\n-- down_revision: a\n-- +up\nSELECT 2;\n")?;
/// let migrations = Migrations::load(folder.path())?;
/// assert_eq!(migrations.heads().iter().map(|r| r.id()).collect::<Vec<_>>(), ["b"]);
/// assert_eq!(migrations.get("a").unwrap().message(), "");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Migrations {
    directory: PathBuf,
    revisions: Vec<Revision>,
    index: HashMap<String, usize>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
}

impl Migrations {
    /// Reads every `*.sql` file of `directory` (other files, such as a README, are ignored).
    ///
    /// # Errors
    ///
    /// [`MigrateError::Io`] when the folder is missing (run `init`) or unreadable;
    /// [`MigrateError::Parse`] for a malformed file; [`MigrateError::Graph`] for an invalid
    /// graph.
    pub fn load(directory: impl AsRef<Path>) -> Result<Self, MigrateError> {
        let directory = directory.as_ref();
        let entries = std::fs::read_dir(directory).map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                MigrateError::io(
                    directory,
                    std::io::Error::new(err.kind(), "no migrations folder here; create it with `init`"),
                )
            } else {
                MigrateError::io(directory, err)
            }
        })?;
        let mut paths = Vec::new();
        for entry in entries {
            let path = entry.map_err(|err| MigrateError::io(directory, err))?.path();
            if path.extension().is_some_and(|e| e == "sql") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let revisions = paths.iter().map(Revision::read).collect::<Result<Vec<_>, _>>()?;
        Self::new(directory, revisions)
    }

    /// Builds and validates the graph of `revisions` (e.g. made with [`Revision::parse`]).
    ///
    /// # Errors
    ///
    /// [`MigrateError::Graph`] for a duplicate id, a missing parent, a cycle or a duplicate
    /// branch label.
    ///
    /// # Panics
    ///
    /// Never in practice: the one `expect` guards an invariant of the ordering.
    pub fn new(directory: impl Into<PathBuf>, revisions: Vec<Revision>) -> Result<Self, MigrateError> {
        let mut index = HashMap::new();
        for (i, revision) in revisions.iter().enumerate() {
            if let Some(first) = index.insert(revision.id().to_owned(), i) {
                return Err(MigrateError::Graph(format!(
                    "revision {} is defined twice: {} and {}; give one of them a new id",
                    revision.id(),
                    revisions[first].path().display(),
                    revision.path().display()
                )));
            }
        }
        check_labels(&revisions, &index)?;
        let mut parents = vec![Vec::new(); revisions.len()];
        let mut children = vec![Vec::new(); revisions.len()];
        for (i, revision) in revisions.iter().enumerate() {
            for parent in revision.parents() {
                let Some(&p) = index.get(parent) else {
                    return Err(MigrateError::Graph(format!(
                        "revision {} ({}) has down_revision {parent}, which no file in the folder defines",
                        revision.id(),
                        revision.path().display()
                    )));
                };
                parents[i].push(p);
                children[p].push(i);
            }
        }
        let order = topological(&revisions, &parents, &children)?;
        // Re-index everything in topological order.
        let mut position = vec![0; revisions.len()];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new;
        }
        let remap = |list: &Vec<usize>| list.iter().map(|&i| position[i]).collect::<Vec<_>>();
        let parents: Vec<Vec<usize>> = order.iter().map(|&old| remap(&parents[old])).collect();
        let children: Vec<Vec<usize>> = order.iter().map(|&old| remap(&children[old])).collect();
        let mut slots: Vec<Option<Revision>> = revisions.into_iter().map(Some).collect();
        let revisions: Vec<Revision> =
            order.iter().map(|&old| slots[old].take().expect("each index appears once in the order")).collect();
        let index = revisions.iter().enumerate().map(|(i, r)| (r.id().to_owned(), i)).collect();
        Ok(Self { directory: directory.into(), revisions, index, parents, children })
    }

    /// The folder the revisions were read from.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Every revision, parents before children.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// The revision with exactly this id.
    pub fn get(&self, id: &str) -> Option<&Revision> {
        self.index.get(id).map(|&i| &self.revisions[i])
    }

    /// Revisions that no other revision names as a parent.
    pub fn heads(&self) -> Vec<&Revision> {
        self.head_indexes().into_iter().map(|i| &self.revisions[i]).collect()
    }

    /// Revisions without parents.
    pub fn bases(&self) -> Vec<&Revision> {
        (0..self.revisions.len()).filter(|&i| self.parents[i].is_empty()).map(|i| &self.revisions[i]).collect()
    }

    /// The revisions whose parent is `id`.
    pub fn children_of(&self, id: &str) -> Vec<&Revision> {
        self.index.get(id).map(|&i| self.children[i].iter().map(|&c| &self.revisions[c]).collect()).unwrap_or_default()
    }

    /// Whether `id` is a head.
    pub fn is_head(&self, id: &str) -> bool {
        self.index.get(id).is_some_and(|&i| self.children[i].is_empty())
    }

    pub(crate) fn head_indexes(&self) -> Vec<usize> {
        (0..self.revisions.len()).filter(|&i| self.children[i].is_empty()).collect()
    }

    pub(crate) fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub(crate) fn at(&self, i: usize) -> &Revision {
        &self.revisions[i]
    }

    pub(crate) fn parent_indexes(&self, i: usize) -> &[usize] {
        &self.parents[i]
    }

    pub(crate) fn child_indexes(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    pub(crate) fn len(&self) -> usize {
        self.revisions.len()
    }

    /// `start` and everything it descends from.
    pub(crate) fn ancestors_inclusive(&self, start: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
        walk(start, &self.parents)
    }

    /// `start` and everything that descends from it.
    pub(crate) fn descendants_inclusive(&self, start: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
        walk(start, &self.children)
    }

    /// `id (file)` for messages.
    pub(crate) fn describe(&self, i: usize) -> String {
        let revision = &self.revisions[i];
        format!("{} ({})", revision.id(), revision.path().display())
    }
}

/// Every node reachable from `start` along `edges`, `start` included.
fn walk(start: impl IntoIterator<Item = usize>, edges: &[Vec<usize>]) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = start.into_iter().collect();
    while let Some(i) = stack.pop() {
        if seen.insert(i) {
            stack.extend(&edges[i]);
        }
    }
    seen
}

fn check_labels(revisions: &[Revision], index: &HashMap<String, usize>) -> Result<(), MigrateError> {
    let mut labels: HashMap<&str, &Revision> = HashMap::new();
    for revision in revisions {
        for label in revision.branch_labels() {
            if let Some(other) = labels.insert(label, revision) {
                return Err(MigrateError::Graph(format!(
                    "branch label `{label}` is on two revisions: {} ({}) and {} ({})",
                    other.id(),
                    other.path().display(),
                    revision.id(),
                    revision.path().display()
                )));
            }
            if index.contains_key(label.as_str()) {
                return Err(MigrateError::Graph(format!(
                    "branch label `{label}` of {} is also a revision id; rename the label",
                    revision.id()
                )));
            }
        }
    }
    Ok(())
}

/// Kahn's algorithm; among ready revisions the one created first (then by file name) goes
/// first, so the order is stable however the folder lists its files.
fn topological(
    revisions: &[Revision],
    parents: &[Vec<usize>],
    children: &[Vec<usize>],
) -> Result<Vec<usize>, MigrateError> {
    let key = |i: usize| (revisions[i].created().unwrap_or("").to_owned(), revisions[i].path().to_path_buf(), i);
    let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut ready: BTreeSet<(String, PathBuf, usize)> =
        (0..revisions.len()).filter(|&i| waiting[i] == 0).map(key).collect();
    let mut order = Vec::with_capacity(revisions.len());
    while let Some(next) = ready.pop_first() {
        let i = next.2;
        order.push(i);
        for &child in &children[i] {
            waiting[child] -= 1;
            if waiting[child] == 0 {
                ready.insert(key(child));
            }
        }
    }
    if order.len() == revisions.len() {
        return Ok(order);
    }
    let stuck: BTreeSet<usize> = (0..revisions.len()).filter(|&i| waiting[i] > 0).collect();
    Err(MigrateError::Graph(format!("the revisions form a cycle: {}", describe_cycle(revisions, parents, &stuck))))
}

/// Follows parents inside the stuck set until a revision repeats: that loop is a cycle.
fn describe_cycle(revisions: &[Revision], parents: &[Vec<usize>], stuck: &BTreeSet<usize>) -> String {
    let Some(&start) = stuck.first() else { return String::new() };
    let mut path = vec![start];
    let mut current = start;
    while let Some(&next) = parents[current].iter().find(|p| stuck.contains(p)) {
        if let Some(at) = path.iter().position(|&p| p == next) {
            let mut cycle: Vec<&str> = path[at..].iter().map(|&i| revisions[i].id()).collect();
            cycle.push(revisions[next].id());
            return cycle.join(" -> ");
        }
        path.push(next);
        current = next;
    }
    path.iter().map(|&i| revisions[i].id()).collect::<Vec<_>>().join(" -> ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A revision `id` with `parents` (comma-separated) and optional labels.
    pub(crate) fn rev(id: &str, parents: &str, labels: &str) -> Revision {
        let text = format!(
            "-- revision: {id}\n-- down_revision: {parents}\n-- branch_labels: {labels}\n-- +up\nSELECT 1;\n-- +down\nSELECT 2;\n"
        );
        Revision::parse(format!("m/{id}.sql"), text.as_bytes()).unwrap()
    }

    pub(crate) fn graph(revisions: &[(&str, &str)]) -> Migrations {
        Migrations::new("m", revisions.iter().map(|(id, parents)| rev(id, parents, "")).collect()).unwrap()
    }

    fn ids(revisions: &[&Revision]) -> Vec<String> {
        revisions.iter().map(|r| r.id().to_owned()).collect()
    }

    #[test]
    fn order_is_parents_first_whatever_the_file_order() {
        let migrations = graph(&[("c", "b"), ("a", ""), ("b", "a")]);
        let order: Vec<&str> = migrations.revisions().iter().map(Revision::id).collect();
        assert_eq!(order, ["a", "b", "c"]);
        assert_eq!(ids(&migrations.heads()), ["c"]);
        assert_eq!(ids(&migrations.bases()), ["a"]);
        assert_eq!(ids(&migrations.children_of("a")), ["b"]);
    }

    #[test]
    fn branches_and_merges() {
        let migrations = graph(&[("a", ""), ("b1", "a"), ("b2", "a"), ("m", "b1, b2")]);
        assert_eq!(ids(&migrations.heads()), ["m"]);
        let m = migrations.index_of("m").unwrap();
        assert_eq!(migrations.ancestors_inclusive([m]).len(), 4);
        let split = graph(&[("a", ""), ("b1", "a"), ("b2", "a")]);
        assert_eq!(ids(&split.heads()), ["b1", "b2"]);
    }

    #[test]
    fn invalid_graphs_are_refused_naming_the_files() {
        let duplicate = Migrations::new("m", vec![rev("a", "", ""), rev("a", "", "")]).unwrap_err().to_string();
        assert!(duplicate.contains("defined twice") && duplicate.contains("m/a.sql"), "{duplicate}");
        let missing = Migrations::new("m", vec![rev("b", "zz", "")]).unwrap_err().to_string();
        assert!(missing.contains("b (m/b.sql) has down_revision zz"), "{missing}");
        let cycle = Migrations::new("m", vec![rev("a", "c", ""), rev("b", "a", ""), rev("c", "b", "")])
            .unwrap_err()
            .to_string();
        assert!(cycle.contains("cycle: a -> c -> b -> a"), "{cycle}");
        let labels = Migrations::new("m", vec![rev("a", "", "x"), rev("b", "a", "x")]).unwrap_err().to_string();
        assert!(labels.contains("branch label `x` is on two revisions"), "{labels}");
    }

    #[test]
    fn load_reports_a_missing_folder_with_a_hint() {
        let err = Migrations::load("/nonexistent/migrations").unwrap_err().to_string();
        assert!(err.contains("/nonexistent/migrations") && err.contains("init"), "{err}");
    }
}
