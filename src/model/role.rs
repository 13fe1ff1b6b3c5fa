//! [`Role`]: what a model is asked to be. Roles used to be strings checked at run time; an enum
//! makes a misspelt role a compile error and gives every place the same names (`crs`, `user`,
//! `critique`, `reward`, `teacher`: the `[models.<role>]` tables and the store's counters).

use std::fmt;
use std::str::FromStr;

/// A model role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The conversational recommender (Eq. 1).
    Crs,
    /// The simulated user's scoring (Eq. 2).
    User,
    /// The simulated user's critiquing (Eq. 3): the `user` model unless `[models.critique]` names
    /// another.
    Critique,
    /// A discriminative reward model (`scorer = "discriminative"`).
    Reward,
    /// The teacher of instruction-data synthesis.
    Teacher,
}

impl Role {
    /// The roles of a run config, in the order their tables are documented.
    pub const RUN: [Role; 4] = [Role::Crs, Role::User, Role::Critique, Role::Reward];

    /// The name of its `[models.<role>]` table.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Crs => "crs",
            Role::User => "user",
            Role::Critique => "critique",
            Role::Reward => "reward",
            Role::Teacher => "teacher",
        }
    }

    /// The side that answers in a conversation: the CRS, or the simulated user (whose critiques
    /// and scores are counted together).
    pub fn side(&self) -> Role {
        match self {
            Role::Critique | Role::Reward => Role::User,
            other => *other,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            Role::Crs,
            Role::User,
            Role::Critique,
            Role::Reward,
            Role::Teacher,
        ]
        .into_iter()
        .find(|role| role.as_str() == text)
        .ok_or_else(|| {
            format!("unknown role `{text}`; expected crs, user, critique, reward or teacher")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for role in [
            Role::Crs,
            Role::User,
            Role::Critique,
            Role::Reward,
            Role::Teacher,
        ] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("crs ".parse::<Role>().is_err());
        assert_eq!(Role::Critique.side(), Role::User);
    }
}
