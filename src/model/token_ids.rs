//! Where the simulated user's Yes/No token ids come from (`[models.user] yes_no_token_ids`): not
//! used (`"off"`, the default), asked once of the server's `/tokenize` (`"auto"`), or written in
//! the config (`[yes_id, no_id]`, or `[[yes ids], [no ids]]`). With ids, scoring requests name
//! them in vLLM's `logprob_token_ids` and read P(Yes) and P(No) exactly
//! ([`crate::model::scoring::read_score_via`]).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::http::{HttpBackend, HttpEndpoint};
use super::scoring::YesNoTokenIds;

/// The `yes_no_token_ids` setting of a model role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum YesNoTokenIdsSetting {
    /// Scores are read from the top alternatives only (requests as without the feature).
    #[default]
    Off,
    /// Ask the role's first endpoint's `/tokenize` once, at the first score; use the ids when it
    /// gives them (a server without `/tokenize` leaves the setting off).
    Auto,
    /// These ids.
    Ids(YesNoTokenIds),
}

impl YesNoTokenIdsSetting {
    pub fn is_off(&self) -> bool {
        *self == YesNoTokenIdsSetting::Off
    }

    /// A problem with the value, for the config's validation.
    pub fn problem(&self) -> Option<String> {
        match self {
            YesNoTokenIdsSetting::Ids(ids) if !ids.is_usable() => {
                Some("needs at least one Yes id and one No id".into())
            }
            _ => None,
        }
    }
}

impl Serialize for YesNoTokenIdsSetting {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            YesNoTokenIdsSetting::Off => serializer.serialize_str("off"),
            YesNoTokenIdsSetting::Auto => serializer.serialize_str("auto"),
            YesNoTokenIdsSetting::Ids(ids) => (&ids.yes, &ids.no).serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for YesNoTokenIdsSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(u32),
            Many(Vec<u32>),
        }
        impl OneOrMany {
            fn ids(self) -> Vec<u32> {
                match self {
                    OneOrMany::One(id) => vec![id],
                    OneOrMany::Many(ids) => ids,
                }
            }
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Word(String),
            Pair(OneOrMany, OneOrMany),
        }
        let expected = r#""off", "auto", [yes_id, no_id] or [[yes ids], [no ids]]"#;
        match Written::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(format!("yes_no_token_ids: expected {expected}"))
        })? {
            Written::Word(word) if word == "off" => Ok(YesNoTokenIdsSetting::Off),
            Written::Word(word) if word == "auto" => Ok(YesNoTokenIdsSetting::Auto),
            Written::Word(word) => Err(serde::de::Error::custom(format!(
                "yes_no_token_ids: expected {expected}, not {word:?}"
            ))),
            Written::Pair(yes, no) => Ok(YesNoTokenIdsSetting::Ids(YesNoTokenIds {
                yes: yes.ids(),
                no: no.ids(),
            })),
        }
    }
}

impl fmt::Display for YesNoTokenIdsSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            YesNoTokenIdsSetting::Off => write!(f, "off"),
            YesNoTokenIdsSetting::Auto => write!(f, "auto"),
            YesNoTokenIdsSetting::Ids(ids) => write!(f, "yes {:?}, no {:?}", ids.yes, ids.no),
        }
    }
}

/// The ids a simulated user names in its scoring requests: resolved once (for `"auto"`, by the
/// first score that asks), shared by the clones.
#[derive(Debug, Clone)]
pub struct YesNoTokenIdsSource {
    setting: YesNoTokenIdsSetting,
    endpoint: Option<HttpEndpoint>,
    resolved: Arc<tokio::sync::OnceCell<Option<YesNoTokenIds>>>,
}

impl Default for YesNoTokenIdsSource {
    fn default() -> Self {
        Self::new(YesNoTokenIdsSetting::Off, None)
    }
}

impl YesNoTokenIdsSource {
    /// `endpoint`: where `"auto"` asks `/tokenize` (none: the embedded model, which has no
    /// `logprob_token_ids`, so `"auto"` is off).
    pub fn new(setting: YesNoTokenIdsSetting, endpoint: Option<HttpEndpoint>) -> Self {
        YesNoTokenIdsSource {
            setting,
            endpoint,
            resolved: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// The setting of a role's config.
    pub fn for_role(settings: &crate::config::ModelRoleConfig, role: &str) -> Self {
        let endpoint = match settings.yes_no_token_ids {
            YesNoTokenIdsSetting::Auto => settings
                .http_endpoints(role)
                .ok()
                .and_then(|endpoints| endpoints.into_iter().next()),
            _ => None,
        };
        Self::new(settings.yes_no_token_ids.clone(), endpoint)
    }

    pub fn setting(&self) -> &YesNoTokenIdsSetting {
        &self.setting
    }

    /// The ids to name, if any.
    pub async fn ids(&self) -> Option<YesNoTokenIds> {
        match &self.setting {
            YesNoTokenIdsSetting::Off => None,
            YesNoTokenIdsSetting::Ids(ids) => Some(ids.clone()).filter(YesNoTokenIds::is_usable),
            YesNoTokenIdsSetting::Auto => self
                .resolved
                .get_or_init(|| async {
                    let endpoint = self.endpoint.clone()?;
                    let url = endpoint.url.clone();
                    let asked = match HttpBackend::new(endpoint) {
                        Ok(backend) => backend.yes_no_token_ids().await,
                        Err(error) => Err(error),
                    };
                    match asked {
                        Ok(ids) if ids.is_usable() => {
                            tracing::info!(
                                endpoint = %url,
                                yes = ?ids.yes,
                                no = ?ids.no,
                                "scoring requests name the Yes/No token ids (logprob_token_ids)"
                            );
                            Some(ids)
                        }
                        Ok(_) => {
                            tracing::warn!(endpoint = %url, "/tokenize gave no single-token Yes and No; scores are read from the top logprobs");
                            None
                        }
                        Err(error) => {
                            tracing::warn!(endpoint = %url, %error, "/tokenize failed; scores are read from the top logprobs");
                            None
                        }
                    }
                })
                .await
                .clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct Table {
        ids: YesNoTokenIdsSetting,
    }

    fn parse(value: &str) -> Result<YesNoTokenIdsSetting, String> {
        toml::from_str::<Table>(&format!("ids = {value}"))
            .map(|table| table.ids)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn the_setting_reads_and_writes_each_form() {
        assert_eq!(parse(r#""off""#).unwrap(), YesNoTokenIdsSetting::Off);
        assert_eq!(parse(r#""auto""#).unwrap(), YesNoTokenIdsSetting::Auto);
        let pair = parse("[7, 9]").unwrap();
        assert_eq!(
            pair,
            YesNoTokenIdsSetting::Ids(YesNoTokenIds {
                yes: vec![7],
                no: vec![9]
            })
        );
        let lists = parse("[[7, 8], [9]]").unwrap();
        assert_eq!(
            lists,
            YesNoTokenIdsSetting::Ids(YesNoTokenIds {
                yes: vec![7, 8],
                no: vec![9]
            })
        );
        assert!(parse(r#""sometimes""#).is_err());
        assert!(parse("[1, 2, 3]").is_err());
        for setting in [YesNoTokenIdsSetting::Off, YesNoTokenIdsSetting::Auto, lists] {
            let written = toml::to_string(&Table {
                ids: setting.clone(),
            })
            .unwrap();
            assert_eq!(toml::from_str::<Table>(&written).unwrap().ids, setting);
        }
        assert!(parse("[[], [9]]").unwrap().problem().is_some());
    }
}
