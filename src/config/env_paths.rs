//! `${NAME}` and `${NAME:-default}` in the paths of a config, so that one config file serves
//! every machine of a cluster: `path = "${GRSU_DATA:-../data}/redial/test_data_processed.jsonl"`.
//! Expansion happens before relative paths are resolved against the config's folder.

use std::path::PathBuf;

/// Expands the environment references of `path`; an unset variable without a default is an
/// error naming it.
pub fn expand_env_path(path: &std::path::Path) -> Result<PathBuf, String> {
    let Some(text) = path.to_str() else {
        return Ok(path.to_path_buf());
    };
    expand_with(text, |name| std::env::var(name).ok()).map(PathBuf::from)
}

fn expand_with(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut expanded = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        expanded.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`{text}`: `${{` without a closing `}}`"))?;
        let reference = &after[..end];
        let (name, default) = match reference.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (reference, None),
        };
        let value = lookup(name)
            .filter(|value| !value.is_empty())
            .or_else(|| default.map(str::to_string))
            .ok_or_else(|| {
                format!("`{text}`: environment variable {name} is not set (and has no default)")
            })?;
        expanded.push_str(&value);
        rest = &after[end + 1..];
    }
    expanded.push_str(rest);
    Ok(expanded)
}

/// The path keys of a config document (JSON pointers into the config as it serialises, which
/// has the document's shape) whose value is written with `${NAME}`, each with its text as
/// written. A record of the config (a sweep's manifest) keeps these instead of their expansion:
/// the variable's value is the machine's (a home folder, a mount that names a user or holds a
/// token), and stays out of the config for a reason. The expansion still decides the search's
/// identity, through the data files' paths and contents.
pub fn written_env_paths(document: &toml::Table) -> Vec<(String, String)> {
    let mut keys: Vec<Vec<&str>> = vec![
        vec!["run", "output"],
        vec!["data", "path"],
        vec!["data", "catalog"],
    ];
    if let Some(models) = document.get("models").and_then(toml::Value::as_table) {
        for role in models.keys() {
            keys.push(vec!["models", role.as_str(), "embedded_model"]);
            keys.push(vec!["models", role.as_str(), "ca_file"]);
        }
    }
    keys.iter()
        .filter_map(|segments| {
            let (last, tables) = segments.split_last()?;
            let mut table = document;
            for name in tables {
                table = table.get(*name)?.as_table()?;
            }
            let written = table.get(*last)?.as_str()?;
            written
                .contains("${")
                .then(|| (format!("/{}", segments.join("/")), written.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_written_with_variables_are_found_as_written() {
        let document: toml::Table = toml::from_str(
            r#"
[run]
output = "results/${USER}"
[data]
path = "${DATA:-../d}/a.jsonl"
catalog = "/srv/catalog.json"
[models.user]
embedded_model = "${HOME}/m.gguf"
[models.crs]
model = "c"
"#,
        )
        .unwrap();
        assert_eq!(
            written_env_paths(&document),
            [
                ("/run/output".to_string(), "results/${USER}".to_string()),
                ("/data/path".into(), "${DATA:-../d}/a.jsonl".into()),
                (
                    "/models/user/embedded_model".into(),
                    "${HOME}/m.gguf".into()
                ),
            ]
        );
        assert!(written_env_paths(&toml::Table::new()).is_empty());
    }

    fn lookup(name: &str) -> Option<String> {
        (name == "DATA").then(|| "/srv/data".to_string())
    }

    #[test]
    fn references_expand_with_values_and_defaults() {
        assert_eq!(
            expand_with("${DATA}/a.json", lookup).unwrap(),
            "/srv/data/a.json"
        );
        assert_eq!(expand_with("${NONE:-../d}/a", lookup).unwrap(), "../d/a");
        assert_eq!(
            expand_with("${DATA:-../d}/a", lookup).unwrap(),
            "/srv/data/a"
        );
        assert_eq!(expand_with("plain/path", lookup).unwrap(), "plain/path");
    }

    #[test]
    fn an_unset_variable_without_default_is_named() {
        let error = expand_with("${NONE}/a", lookup).unwrap_err();
        assert!(error.contains("NONE is not set"), "{error}");
        assert!(expand_with("${DATA/a", lookup).is_err());
    }
}
