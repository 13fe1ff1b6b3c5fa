//! `--shard i/n`: a deterministic share of a sweep for one of several orchestrators. Sample
//! positions are dealt round-robin (sample `p` of the dataset goes to shard `p mod n`), the same
//! for every cell and seed, so that the cells of one sample stay together and keep sharing their
//! requests, and the shares differ in size by at most one sample.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One share of `count`, 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
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

#[cfg(test)]
mod tests {
    use super::*;

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
