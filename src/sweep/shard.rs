//! `--shard i/n`: a deterministic share of a sweep for one of several orchestrators. Sample
//! positions are dealt round-robin (sample `p` of the dataset goes to shard `p mod n`), the same
//! for every cell and seed, so that the cells of one sample stay together and keep sharing their
//! requests, and the shares differ in size by at most one sample.
//!
//! `--shard auto` takes the share from the cluster engine that started the process
//! ([`shard_from_environment`]): a Slurm job array (`SLURM_ARRAY_TASK_ID` with
//! `SLURM_ARRAY_TASK_COUNT`, or with `SLURM_ARRAY_TASK_MIN`/`SLURM_ARRAY_TASK_MAX`) or a Kubernetes
//! Indexed Job (`JOB_COMPLETION_INDEX` with `GRSU_SHARD_COUNT`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One share of `count`, 0-based. A manifest read back from a store is checked as `--shard` is
/// (0 ≤ index < count), so a damaged one is an error rather than a division by zero in
/// [`Shard::owns`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ShardFields")]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// [`Shard`] as stored, before it is checked.
#[derive(Deserialize)]
struct ShardFields {
    index: usize,
    count: usize,
}

impl TryFrom<ShardFields> for Shard {
    type Error = String;

    fn try_from(fields: ShardFields) -> Result<Self, Self::Error> {
        if fields.count == 0 || fields.index >= fields.count {
            return Err(format!(
                "shard {}/{}: a shard is i/n with 0 ≤ i < n",
                fields.index, fields.count
            ));
        }
        Ok(Shard {
            index: fields.index,
            count: fields.count,
        })
    }
}

impl Shard {
    /// Whether the sample at `position` of its dataset belongs to this shard.
    pub fn owns(&self, position: usize) -> bool {
        position % self.count == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("`{text}`: a shard is `i/n` with 0 ≤ i < n, e.g. 0/4");
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let index: usize = index.trim().parse().map_err(|_| invalid())?;
        let count: usize = count.trim().parse().map_err(|_| invalid())?;
        if count == 0 || index >= count {
            return Err(invalid());
        }
        Ok(Shard { index, count })
    }
}

/// Where a run's shard came from; recorded in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShardSource {
    /// `--shard i/n` (or `GRSU_SHARD=i/n`).
    Explicit,
    /// `--shard auto` in a Slurm job array.
    Slurm,
    /// `--shard auto` in a Kubernetes Indexed Job.
    Kubernetes,
}

impl fmt::Display for ShardSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            ShardSource::Explicit => "explicit",
            ShardSource::Slurm => "slurm",
            ShardSource::Kubernetes => "kubernetes",
        })
    }
}

/// What `--shard` asks for: a given share, or the one the cluster engine assigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardRequest {
    Explicit(Shard),
    Auto,
}

impl ShardRequest {
    /// The shard and its source; `Auto` reads the environment through `lookup` (see
    /// [`shard_from_environment`]).
    pub fn resolve(
        self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(Shard, ShardSource), String> {
        match self {
            ShardRequest::Explicit(shard) => Ok((shard, ShardSource::Explicit)),
            ShardRequest::Auto => shard_from_environment(lookup),
        }
    }
}

impl FromStr for ShardRequest {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim() == "auto" {
            return Ok(ShardRequest::Auto);
        }
        text.parse().map(ShardRequest::Explicit).map_err(|_| {
            format!("`{text}`: a shard is `i/n` with 0 ≤ i < n (e.g. 0/4), or `auto` (from Slurm or Kubernetes)")
        })
    }
}

/// The variables `--shard auto` reads, for its error messages.
const WHERE_FROM: &str =
    "a Slurm job array (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or with \
     SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX) or a Kubernetes Indexed Job \
     (JOB_COMPLETION_INDEX with GRSU_SHARD_COUNT)";

/// The share the cluster engine assigns to this process, read through `lookup` (e.g.
/// `|name| std::env::var(name).ok()`). Slurm: index `SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN`
/// (the id itself without a minimum), count `SLURM_ARRAY_TASK_MAX − SLURM_ARRAY_TASK_MIN + 1` or
/// `SLURM_ARRAY_TASK_COUNT`; the array must be contiguous (`--array=0-3`, not `0-6:2` or `1,3`),
/// which is checked where Slurm gives enough to check it. Kubernetes: `JOB_COMPLETION_INDEX` of
/// `GRSU_SHARD_COUNT`. Neither, both, or values that do not make a share: an error saying what
/// is wrong.
pub fn shard_from_environment(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(Shard, ShardSource), String> {
    let get = |name: &str| {
        lookup(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    let number = |name: &str| -> Result<Option<usize>, String> {
        match get(name) {
            None => Ok(None),
            Some(value) => value
                .parse::<usize>()
                .map(Some)
                .map_err(|_| format!("--shard auto: {name}={value} is not a non-negative integer")),
        }
    };
    let slurm = get("SLURM_ARRAY_TASK_ID").is_some();
    let kubernetes = get("JOB_COMPLETION_INDEX").is_some();
    if slurm && kubernetes {
        return Err(
            "--shard auto: both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are set; give --shard i/n"
                .to_string(),
        );
    }
    let shard = |index: usize, count: usize, described: String| {
        if count == 0 || index >= count {
            Err(format!(
                "--shard auto: {described} is not a share i/n with 0 ≤ i < n"
            ))
        } else {
            Ok(Shard { index, count })
        }
    };
    if slurm {
        let id = number("SLURM_ARRAY_TASK_ID")?.unwrap_or_default();
        let count = number("SLURM_ARRAY_TASK_COUNT")?;
        let min = number("SLURM_ARRAY_TASK_MIN")?;
        let max = number("SLURM_ARRAY_TASK_MAX")?;
        if let Some(step) = number("SLURM_ARRAY_TASK_STEP")? {
            if step != 1 {
                return Err(format!(
                    "--shard auto: the Slurm array has step {step}; grsu needs a contiguous array (e.g. --array=0-3)"
                ));
            }
        }
        let described = format!(
            "SLURM_ARRAY_TASK_ID={id} (COUNT={}, MIN={}, MAX={})",
            count.map_or("unset".into(), |v| v.to_string()),
            min.map_or("unset".into(), |v| v.to_string()),
            max.map_or("unset".into(), |v| v.to_string()),
        );
        let (index, count) = match (count, min, max) {
            (_, Some(min), Some(max)) => {
                if max < min || id < min || id > max {
                    return Err(format!("--shard auto: {described} is inconsistent"));
                }
                let span = max - min + 1;
                if count.is_some_and(|count| count != span) {
                    return Err(format!(
                        "--shard auto: {described}: the array is not contiguous; grsu needs e.g. --array=0-3"
                    ));
                }
                (id - min, span)
            }
            (Some(count), Some(min), None) => {
                if id < min {
                    return Err(format!("--shard auto: {described} is inconsistent"));
                }
                (id - min, count)
            }
            (Some(count), None, _) => (id, count),
            (None, _, _) => {
                return Err(format!(
                    "--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX; expected {WHERE_FROM}"
                ))
            }
        };
        return shard(index, count, described).map(|shard| (shard, ShardSource::Slurm));
    }
    if kubernetes {
        let index = number("JOB_COMPLETION_INDEX")?.unwrap_or_default();
        let Some(count) = number("GRSU_SHARD_COUNT")? else {
            return Err(
                "--shard auto: JOB_COMPLETION_INDEX is set but GRSU_SHARD_COUNT is not (set it to the Job's completions)"
                    .to_string(),
            );
        };
        return shard(
            index,
            count,
            format!("JOB_COMPLETION_INDEX={index} with GRSU_SHARD_COUNT={count}"),
        )
        .map(|shard| (shard, ShardSource::Kubernetes));
    }
    if get("GRSU_SHARD_COUNT").is_some() {
        return Err(
            "--shard auto: GRSU_SHARD_COUNT is set but JOB_COMPLETION_INDEX is not".to_string(),
        );
    }
    Err(format!(
        "--shard auto: no shard in the environment; it is taken from {WHERE_FROM}. Outside those, give --shard i/n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn environment<'a>(pairs: &'a [(&'a str, String)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        }
    }

    fn from(pairs: &[(&str, &str)]) -> Result<(Shard, ShardSource), String> {
        let owned: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        shard_from_environment(environment(&owned))
    }

    #[test]
    fn stored_shards_are_checked_like_given_ones() {
        let stored: Shard = serde_json::from_str(r#"{"index": 1, "count": 4}"#).unwrap();
        assert_eq!(stored, Shard { index: 1, count: 4 });
        assert_eq!(
            serde_json::to_string(&stored).unwrap(),
            r#"{"index":1,"count":4}"#
        );
        for damaged in [r#"{"index": 0, "count": 0}"#, r#"{"index": 4, "count": 4}"#] {
            let error = serde_json::from_str::<Shard>(damaged)
                .unwrap_err()
                .to_string();
            assert!(error.contains("0 ≤ i < n"), "{error}");
        }
    }

    #[test]
    fn auto_and_explicit_requests_parse() {
        assert_eq!("auto".parse::<ShardRequest>().unwrap(), ShardRequest::Auto);
        assert_eq!(
            "2/3".parse::<ShardRequest>().unwrap(),
            ShardRequest::Explicit(Shard { index: 2, count: 3 })
        );
        assert!("3/3".parse::<ShardRequest>().is_err());
        assert!("automatic".parse::<ShardRequest>().is_err());
        assert_eq!(
            ShardRequest::Explicit(Shard { index: 0, count: 2 })
                .resolve(|_| Some("9".into()))
                .unwrap(),
            (Shard { index: 0, count: 2 }, ShardSource::Explicit)
        );
    }

    #[test]
    fn slurm_arrays_give_their_share() {
        let slurm = |index, count| Ok((Shard { index, count }, ShardSource::Slurm));
        assert_eq!(
            from(&[
                ("SLURM_ARRAY_TASK_ID", "2"),
                ("SLURM_ARRAY_TASK_COUNT", "3")
            ]),
            slurm(2, 3)
        );
        // --array=1-3: ids 1..3 are shares 0..2 of 3.
        assert_eq!(
            from(&[
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_MAX", "3"),
            ]),
            slurm(0, 3)
        );
        assert_eq!(
            from(&[
                ("SLURM_ARRAY_TASK_ID", "3"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_MAX", "3"),
                ("SLURM_ARRAY_TASK_STEP", "1"),
            ]),
            slurm(2, 3)
        );
    }

    #[test]
    fn kubernetes_indexed_jobs_give_their_share() {
        assert_eq!(
            from(&[("JOB_COMPLETION_INDEX", "4"), ("GRSU_SHARD_COUNT", "5")]),
            Ok((Shard { index: 4, count: 5 }, ShardSource::Kubernetes))
        );
    }

    #[test]
    fn missing_or_inconsistent_variables_are_clear_errors() {
        let nothing = from(&[]).unwrap_err();
        assert!(
            nothing.contains("SLURM_ARRAY_TASK_ID") && nothing.contains("JOB_COMPLETION_INDEX"),
            "{nothing}"
        );
        assert!(nothing.contains("--shard i/n"), "{nothing}");
        for (pairs, expected) in [
            (
                vec![("SLURM_ARRAY_TASK_ID", "0")],
                "neither SLURM_ARRAY_TASK_COUNT",
            ),
            (
                vec![
                    ("SLURM_ARRAY_TASK_ID", "3"),
                    ("SLURM_ARRAY_TASK_COUNT", "3"),
                ],
                "not a share",
            ),
            (
                vec![
                    ("SLURM_ARRAY_TASK_ID", "x"),
                    ("SLURM_ARRAY_TASK_COUNT", "3"),
                ],
                "not a non-negative integer",
            ),
            (
                vec![
                    ("SLURM_ARRAY_TASK_ID", "5"),
                    ("SLURM_ARRAY_TASK_MIN", "1"),
                    ("SLURM_ARRAY_TASK_MAX", "3"),
                ],
                "inconsistent",
            ),
            (
                vec![
                    ("SLURM_ARRAY_TASK_ID", "3"),
                    ("SLURM_ARRAY_TASK_COUNT", "3"),
                    ("SLURM_ARRAY_TASK_MIN", "1"),
                    ("SLURM_ARRAY_TASK_MAX", "5"),
                ],
                "not contiguous",
            ),
            (
                vec![
                    ("SLURM_ARRAY_TASK_ID", "2"),
                    ("SLURM_ARRAY_TASK_COUNT", "4"),
                    ("SLURM_ARRAY_TASK_STEP", "2"),
                ],
                "step 2",
            ),
            (
                vec![("JOB_COMPLETION_INDEX", "0")],
                "GRSU_SHARD_COUNT is not",
            ),
            (
                vec![("GRSU_SHARD_COUNT", "3")],
                "JOB_COMPLETION_INDEX is not",
            ),
            (
                vec![("JOB_COMPLETION_INDEX", "3"), ("GRSU_SHARD_COUNT", "3")],
                "not a share",
            ),
            (
                vec![("JOB_COMPLETION_INDEX", "0"), ("GRSU_SHARD_COUNT", "0")],
                "not a share",
            ),
            (
                vec![
                    ("JOB_COMPLETION_INDEX", "0"),
                    ("GRSU_SHARD_COUNT", "2"),
                    ("SLURM_ARRAY_TASK_ID", "0"),
                ],
                "both",
            ),
        ] {
            let error = from(&pairs).unwrap_err();
            assert!(error.contains(expected), "{pairs:?}: {error}");
            assert!(error.starts_with("--shard auto"), "{error}");
        }
    }

    proptest! {
        /// Every task of a contiguous Slurm array `--array=min-max` gets a distinct share, and
        /// together they are every share of `max − min + 1`, whichever variables Slurm gives.
        #[test]
        fn every_task_of_a_contiguous_array_gets_its_own_share(min in 0usize..1000, tasks in 1usize..64, with_count: bool, with_range: bool) {
            let max = min + tasks - 1;
            let mut seen = vec![false; tasks];
            for id in min..=max {
                let mut pairs = vec![("SLURM_ARRAY_TASK_ID", id.to_string())];
                if with_count || !with_range {
                    pairs.push(("SLURM_ARRAY_TASK_COUNT", tasks.to_string()));
                }
                if with_range || !with_count {
                    pairs.push(("SLURM_ARRAY_TASK_MIN", min.to_string()));
                    pairs.push(("SLURM_ARRAY_TASK_MAX", max.to_string()));
                }
                let result = shard_from_environment(environment(&pairs));
                if !with_range && with_count && min > 0 {
                    // Without a minimum the id is the index: ids past the count are refused.
                    if id >= tasks {
                        prop_assert!(result.is_err());
                    }
                    continue;
                }
                let (shard, source) = result.unwrap();
                prop_assert_eq!(source, ShardSource::Slurm);
                prop_assert_eq!(shard.count, tasks);
                prop_assert!(!seen[shard.index]);
                seen[shard.index] = true;
            }
            if with_range || !with_count || min == 0 {
                prop_assert!(seen.iter().all(|&seen| seen));
            }
        }

        /// Whatever the variables hold, the result is a valid share or an error, never a panic.
        #[test]
        fn arbitrary_values_give_a_share_or_an_error(id in "[0-9x]{0,3}", count in "[0-9]{0,2}", index in "[0-9]{0,2}", shards in "[0-9]{0,2}") {
            let pairs = [
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_COUNT", count),
                ("JOB_COMPLETION_INDEX", index),
                ("GRSU_SHARD_COUNT", shards),
            ];
            if let Ok((shard, _)) = shard_from_environment(environment(&pairs)) {
                prop_assert!(shard.index < shard.count);
            }
        }
    }

    #[test]
    fn shards_parse_and_refuse_nonsense() {
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_shards_of_a_sweep_partition_its_samples_evenly() {
        let count = 3;
        let mut owners = [0; 10];
        for index in 0..count {
            let shard = Shard { index, count };
            for (position, owner) in owners.iter_mut().enumerate() {
                if shard.owns(position) {
                    *owner += 1;
                }
            }
        }
        assert!(owners.iter().all(|&owners| owners == 1));
        let sizes: Vec<usize> = (0..count)
            .map(|index| (0..10).filter(|&p| Shard { index, count }.owns(p)).count())
            .collect();
        assert_eq!(sizes, [4, 3, 3]);
    }
}
