//! [`Target`]: what `upgrade`, `downgrade` and `stamp` move to, and how it resolves against the
//! graph and the applied revisions.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::error::MigrateError;
use crate::graph::Migrations;
use crate::revision::valid_name;

/// A place in the revision graph, as written on the command line.
///
/// | written | meaning |
/// |---|---|
/// | `head` | the only head (an error naming them when there are several) |
/// | `heads` | every head |
/// | `base` | before the first revision |
/// | `3f2a9c1b7d4e`, `3f2a` | a revision by id or unique prefix (an ambiguous prefix lists the candidates) |
/// | `feature` | the revision that carries branch label `feature` |
/// | `feature@head` | the head of branch `feature` |
/// | `+2`, `-1` | two up from, one down from the current revision |
/// | `3f2a+1`, `3f2a-1` | one above, one below a revision |
///
/// # Examples
///
/// ```
/// use phial_migrate::Target;
///
/// assert_eq!("head".parse::<Target>()?, Target::Head);
/// assert_eq!("-1".parse::<Target>()?, Target::Relative(-1));
/// assert_eq!("ab12+2".parse::<Target>()?, Target::Revision { id: "ab12".into(), offset: 2 });
/// assert_eq!("feature@head".parse::<Target>()?, Target::BranchHead("feature".into()));
/// assert!("+x".parse::<Target>().is_err());
/// # Ok::<(), phial_migrate::MigrateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// `head`: the single head.
    Head,
    /// `heads`: every head.
    Heads,
    /// `base`: no revision.
    Base,
    /// `+N` / `-N`: relative to the current revision.
    Relative(i64),
    /// `REV`, `REV+N`, `REV-N`: a revision (id, unique prefix or branch label), moved by `offset`.
    Revision {
        /// The id, prefix or label.
        id: String,
        /// Steps up (positive) or down (negative).
        offset: i64,
    },
    /// `label@head`: the head of a branch.
    BranchHead(String),
}

impl FromStr for Target {
    type Err = MigrateError;

    fn from_str(text: &str) -> Result<Self, MigrateError> {
        let usage = |why: &str| {
            MigrateError::Usage(format!(
                "`{text}` is not a target ({why}); use head, heads, base, a revision id or unique prefix, \
                 label@head, +N, -N or REV+N"
            ))
        };
        let text = text.trim();
        match text {
            "head" => return Ok(Self::Head),
            "heads" => return Ok(Self::Heads),
            "base" => return Ok(Self::Base),
            _ => {}
        }
        if let Some(label) = text.strip_suffix("@head") {
            valid_name(label).map_err(|why| usage(&why))?;
            return Ok(Self::BranchHead(label.to_owned()));
        }
        let Some(at) = text.find(['+', '-']) else {
            valid_name(text).map_err(|why| usage(&why))?;
            return Ok(Self::Revision { id: text.to_owned(), offset: 0 });
        };
        let (id, steps) = text.split_at(at);
        let offset: i64 = steps.parse().map_err(|_| usage("the steps must be a number"))?;
        if offset == 0 {
            return Err(usage("zero steps"));
        }
        if id.is_empty() {
            return Ok(Self::Relative(offset));
        }
        valid_name(id).map_err(|why| usage(&why))?;
        Ok(Self::Revision { id: id.to_owned(), offset })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Head => f.write_str("head"),
            Self::Heads => f.write_str("heads"),
            Self::Base => f.write_str("base"),
            Self::Relative(n) => write!(f, "{n:+}"),
            Self::Revision { id, offset: 0 } => f.write_str(id),
            Self::Revision { id, offset } => write!(f, "{id}{offset:+}"),
            Self::BranchHead(label) => write!(f, "{label}@head"),
        }
    }
}

impl Migrations {
    /// The revision `spec` names: an exact id, a branch label, or a unique id prefix.
    ///
    /// # Errors
    ///
    /// [`MigrateError::Target`] when nothing matches, or when a prefix matches several
    /// revisions (all listed).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_migrate::{Migrations, Revision};
    ///
    /// let file = |id: &str, parent: &str| {
    ///     let text = format!("-- revision: {id}\n-- down_revision: {parent}\n-- +up\n");
    ///     Revision::parse(format!("{id}.sql"), text.as_bytes())
    /// };
    /// let migrations = Migrations::new("m", vec![file("ab12", "")?, file("ab34", "ab12")?])?;
    /// assert_eq!(migrations.find("ab3")?.id(), "ab34");
    /// let err = migrations.find("ab").unwrap_err().to_string();
    /// assert!(err.contains("ab12") && err.contains("ab34"));
    /// # Ok::<(), phial_migrate::MigrateError>(())
    /// ```
    pub fn find(&self, spec: &str) -> Result<&crate::Revision, MigrateError> {
        self.find_index(spec).map(|i| self.at(i))
    }

    pub(crate) fn find_index(&self, spec: &str) -> Result<usize, MigrateError> {
        if let Some(i) = self.index_of(spec) {
            return Ok(i);
        }
        if let Some(i) = (0..self.len()).find(|&i| self.at(i).branch_labels().iter().any(|l| l == spec)) {
            return Ok(i);
        }
        let matches: Vec<usize> = (0..self.len()).filter(|&i| self.at(i).id().starts_with(spec)).collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(MigrateError::Target(format!(
                "no revision or branch label `{spec}` in {}",
                self.directory().display()
            ))),
            several => Err(MigrateError::Target(format!(
                "`{spec}` is ambiguous: it starts {}; type more of the id",
                several.iter().map(|&i| self.describe(i)).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Applied revisions none of whose children is applied: where the database is.
    pub(crate) fn current_heads(&self, applied: &BTreeSet<usize>) -> Vec<usize> {
        applied.iter().copied().filter(|&i| !self.child_indexes(i).iter().any(|c| applied.contains(c))).collect()
    }

    /// The revisions `upgrade target` must reach; everything they descend from gets applied.
    pub(crate) fn upgrade_goals(&self, target: &Target, applied: &BTreeSet<usize>) -> Result<Vec<usize>, MigrateError> {
        match target {
            Target::Head => {
                let heads = self.head_indexes();
                if heads.len() > 1 {
                    return Err(MigrateError::MultipleHeads(heads.iter().map(|&i| self.describe(i)).collect()));
                }
                Ok(heads)
            }
            Target::Heads => Ok(self.head_indexes()),
            Target::Base => Ok(Vec::new()),
            Target::BranchHead(label) => self.branch_head(label).map(|i| vec![i]),
            Target::Revision { id, offset } => {
                Ok(self.moved(self.find_index(id)?, *offset, target)?.into_iter().collect())
            }
            Target::Relative(steps) if *steps > 0 => {
                let current = self.single_current(applied, target)?;
                let start = match current {
                    Some(i) => i,
                    None => self.single_base(target)?,
                };
                let steps = if current.is_some() { *steps } else { steps - 1 };
                Ok(self.moved(start, steps, target)?.into_iter().collect())
            }
            Target::Relative(_) => Err(MigrateError::Usage(format!(
                "`upgrade {target}` goes down; use `downgrade {target}`, or +N to go up"
            ))),
        }
    }

    /// The revision `downgrade target` keeps (`None`: base); everything above it is reverted.
    pub(crate) fn downgrade_keep(
        &self,
        target: &Target,
        applied: &BTreeSet<usize>,
    ) -> Result<Option<usize>, MigrateError> {
        match target {
            Target::Base => Ok(None),
            Target::Revision { id, offset } => self.moved(self.find_index(id)?, *offset, target),
            Target::Relative(steps) if *steps < 0 => match self.single_current(applied, target)? {
                Some(current) => self.moved(current, *steps, target),
                None => Err(MigrateError::Target(format!("`{target}`: no revision is applied"))),
            },
            Target::BranchHead(label) => self.branch_head(label).map(Some),
            Target::Head | Target::Heads | Target::Relative(_) => Err(MigrateError::Usage(format!(
                "`downgrade {target}` goes up; use -N, a revision, or base (and `upgrade` to go up)"
            ))),
        }
    }

    /// The one head reachable from the revision labelled `label`.
    fn branch_head(&self, label: &str) -> Result<usize, MigrateError> {
        let Some(labelled) = (0..self.len()).find(|&i| self.at(i).branch_labels().iter().any(|l| l == label)) else {
            return Err(MigrateError::Target(format!("no revision has branch label `{label}`")));
        };
        let heads: Vec<usize> =
            self.descendants_inclusive([labelled]).into_iter().filter(|&i| self.child_indexes(i).is_empty()).collect();
        match heads.as_slice() {
            [one] => Ok(*one),
            several => Err(MigrateError::Target(format!(
                "branch `{label}` has several heads: {}; name one",
                several.iter().map(|&i| self.describe(i)).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    fn single_current(&self, applied: &BTreeSet<usize>, target: &Target) -> Result<Option<usize>, MigrateError> {
        let current = self.current_heads(applied);
        match current.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            several => Err(MigrateError::Target(format!(
                "`{target}` is ambiguous: the database is at several revisions ({}); use REV{target}",
                several.iter().map(|&i| self.at(i).id()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    fn single_base(&self, target: &Target) -> Result<usize, MigrateError> {
        let bases: Vec<usize> = (0..self.len()).filter(|&i| self.parent_indexes(i).is_empty()).collect();
        match bases.as_slice() {
            [one] => Ok(*one),
            [] => Err(MigrateError::Target(format!("`{target}`: there are no revisions"))),
            several => Err(MigrateError::Target(format!(
                "`{target}` is ambiguous: there are several base revisions ({}); name the target",
                several.iter().map(|&i| self.at(i).id()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// `start` moved `offset` steps along the only child (up) or only parent (down);
    /// `None` is base, one step below a first revision.
    fn moved(&self, start: usize, offset: i64, target: &Target) -> Result<Option<usize>, MigrateError> {
        let mut current = start;
        for step in 0..offset.unsigned_abs() {
            let next = if offset > 0 { self.child_indexes(current) } else { self.parent_indexes(current) };
            match next {
                [one] => current = *one,
                [] if offset < 0 && step + 1 == offset.unsigned_abs() => return Ok(None),
                [] => {
                    let end = if offset > 0 { "head" } else { "base" };
                    return Err(MigrateError::Target(format!(
                        "`{target}` goes past the {end}: {} is {step} step(s) away from it",
                        self.at(start).id()
                    )));
                }
                several => {
                    let way = if offset > 0 { "children" } else { "parents" };
                    return Err(MigrateError::Target(format!(
                        "`{target}` is ambiguous: {} has several {way} ({}); name the revision",
                        self.at(current).id(),
                        several.iter().map(|&i| self.at(i).id()).collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
        Ok(Some(current))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::graph;

    fn set(migrations: &Migrations, ids: &[&str]) -> BTreeSet<usize> {
        ids.iter().map(|id| migrations.index_of(id).unwrap()).collect()
    }

    fn names(migrations: &Migrations, indexes: &[usize]) -> Vec<String> {
        indexes.iter().map(|&i| migrations.at(i).id().to_owned()).collect()
    }

    fn goals(migrations: &Migrations, target: &str, applied: &[&str]) -> Result<Vec<String>, MigrateError> {
        let goals = migrations.upgrade_goals(&target.parse()?, &set(migrations, applied))?;
        Ok(names(migrations, &goals))
    }

    fn keep(migrations: &Migrations, target: &str, applied: &[&str]) -> Result<Option<String>, MigrateError> {
        let keep = migrations.downgrade_keep(&target.parse()?, &set(migrations, applied))?;
        Ok(keep.map(|i| migrations.at(i).id().to_owned()))
    }

    #[test]
    fn targets_parse_and_print_back() {
        for text in ["head", "heads", "base", "+2", "-1", "abc", "abc+1", "abc-2", "x@head"] {
            assert_eq!(text.parse::<Target>().unwrap().to_string(), text);
        }
        for bad in ["+x", "", "+0", "a b", "@head", "a+", "head+1x"] {
            let err = bad.parse::<Target>().unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn relative_targets_walk_the_chain() {
        let chain = graph(&[("a", ""), ("b", "a"), ("c", "b")]);
        assert_eq!(goals(&chain, "+1", &[]).unwrap(), ["a"]);
        assert_eq!(goals(&chain, "+2", &["a"]).unwrap(), ["c"]);
        assert_eq!(goals(&chain, "a+1", &[]).unwrap(), ["b"]);
        assert_eq!(goals(&chain, "c-1", &[]).unwrap(), ["b"]);
        assert!(goals(&chain, "+3", &["a"]).unwrap_err().to_string().contains("goes past the head"));
        assert_eq!(keep(&chain, "-1", &["a", "b"]).unwrap().as_deref(), Some("a"));
        assert_eq!(keep(&chain, "-2", &["a", "b"]).unwrap(), None);
        assert!(keep(&chain, "-3", &["a", "b"]).is_err());
        assert!(keep(&chain, "-1", &[]).unwrap_err().to_string().contains("no revision is applied"));
        assert_eq!(keep(&chain, "base", &["a"]).unwrap(), None);
        assert_eq!(keep(&chain, "-1", &["a", "b"]).unwrap().as_deref(), Some("a"));
    }

    #[test]
    fn two_heads_make_head_ambiguous_but_not_heads() {
        let split = graph(&[("a", ""), ("b1", "a"), ("b2", "a")]);
        let err = goals(&split, "head", &[]).unwrap_err().to_string();
        assert!(err.contains("b1 (m/b1.sql)") && err.contains("b2 (m/b2.sql)"), "{err}");
        assert_eq!(goals(&split, "heads", &[]).unwrap(), ["b1", "b2"]);
        assert!(goals(&split, "a+1", &[]).unwrap_err().to_string().contains("several children (b1, b2)"));
        assert!(keep(&split, "-1", &["a", "b1", "b2"]).unwrap_err().to_string().contains("several revisions"));
    }

    #[test]
    fn prefixes_labels_and_branch_heads() {
        let revisions = vec![
            crate::graph::tests::rev("ab12", "", ""),
            crate::graph::tests::rev("ab34", "ab12", "feature"),
            crate::graph::tests::rev("cd56", "ab34", ""),
            crate::graph::tests::rev("ef78", "ab12", ""),
        ];
        let migrations = Migrations::new("m", revisions).unwrap();
        assert_eq!(migrations.find("cd").unwrap().id(), "cd56");
        assert_eq!(migrations.find("feature").unwrap().id(), "ab34");
        let ambiguous = migrations.find("ab").unwrap_err().to_string();
        assert!(ambiguous.contains("ab12 (m/ab12.sql), ab34 (m/ab34.sql)"), "{ambiguous}");
        assert!(migrations.find("zz").unwrap_err().to_string().contains("no revision"));
        assert_eq!(goals(&migrations, "feature@head", &[]).unwrap(), ["cd56"]);
        assert!(goals(&migrations, "nope@head", &[]).is_err());
    }

    #[test]
    fn downgrade_cannot_go_up_and_upgrade_cannot_go_down() {
        let chain = graph(&[("a", ""), ("b", "a")]);
        assert_eq!(keep(&chain, "head", &["a"]).unwrap_err().exit_code(), 2);
        assert_eq!(goals(&chain, "-1", &["a"]).unwrap_err().exit_code(), 2);
    }
}
