//! Typed config values that are checked as they are read, so that a config that deserialised holds
//! only usable ones: [`Seconds`] (a positive duration written as a number of seconds) and
//! [`EndpointUrl`] (an http(s) URL). Each serialises back to what was written, so the manifest,
//! the change report and `grsu config reference` see the TOML values.
//!
//! A bad value is a deserialisation error whose message says what is wrong with the value; the
//! deserialiser adds the key (`in `models.crs.endpoints``), and [`super::ConfigError::located`] its
//! line and column.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

/// A positive, finite number of seconds (`timeout_s = 600`, `give_up_after_s = 120.0`): the
/// [`Duration`] it is, and the number as written.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Seconds {
    written: f64,
    duration: Duration,
}

impl Seconds {
    /// A whole number of seconds (for defaults).
    pub fn whole(seconds: u64) -> Self {
        Seconds {
            written: seconds as f64,
            duration: Duration::from_secs(seconds),
        }
    }

    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The number of seconds as written.
    pub fn as_f64(&self) -> f64 {
        self.written
    }
}

impl TryFrom<f64> for Seconds {
    type Error = String;

    fn try_from(seconds: f64) -> Result<Self, Self::Error> {
        let invalid = || format!("must be a positive number of seconds, not {seconds}");
        if !(seconds.is_finite() && seconds > 0.0) {
            return Err(invalid());
        }
        let duration = Duration::try_from_secs_f64(seconds).map_err(|_| invalid())?;
        if duration.is_zero() {
            return Err(invalid());
        }
        Ok(Seconds {
            written: seconds,
            duration,
        })
    }
}

impl From<Seconds> for f64 {
    fn from(seconds: Seconds) -> f64 {
        seconds.written
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.written)
    }
}

/// The base URL of an OpenAI-compatible endpoint: parsed, with an `http` or `https` scheme and a
/// host. It keeps the text as written (the HTTP client appends `/v1` when there is no path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EndpointUrl {
    written: String,
    url: Url,
}

impl EndpointUrl {
    /// The URL as written in the config.
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl TryFrom<String> for EndpointUrl {
    type Error = String;

    fn try_from(written: String) -> Result<Self, Self::Error> {
        let hint = if written.contains("://") {
            String::new()
        } else {
            format!(
                "; write it with its scheme, e.g. `http://{}`",
                written.trim()
            )
        };
        let url = Url::parse(written.trim())
            .map_err(|error| format!("endpoint `{written}` is not a URL ({error}){hint}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "endpoint `{written}` is not an http(s) URL (its scheme is `{}`){hint}",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("endpoint `{written}` has no host"));
        }
        Ok(EndpointUrl { written, url })
    }
}

impl TryFrom<&str> for EndpointUrl {
    type Error = String;

    fn try_from(written: &str) -> Result<Self, Self::Error> {
        EndpointUrl::try_from(written.to_string())
    }
}

impl From<EndpointUrl> for String {
    fn from(endpoint: EndpointUrl) -> String {
        endpoint.written
    }
}

impl fmt::Display for EndpointUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_positive_and_finite_and_keep_what_was_written() {
        let timeout = Seconds::try_from(0.5).unwrap();
        assert_eq!(timeout.duration(), Duration::from_millis(500));
        assert_eq!(f64::from(timeout), 0.5);
        assert_eq!(Seconds::whole(600).duration(), Duration::from_secs(600));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300, 1e-12] {
            let error = Seconds::try_from(bad).unwrap_err();
            assert!(error.contains("positive number of seconds"), "{error}");
        }
    }

    #[test]
    fn endpoints_are_http_urls_with_a_host() {
        let endpoint = EndpointUrl::try_from("http://gpu-01:8000/v1").unwrap();
        assert_eq!(endpoint.as_str(), "http://gpu-01:8000/v1");
        assert_eq!(endpoint.url().port(), Some(8000));
        assert!(EndpointUrl::try_from("https://api.example.com").is_ok());
        let bare = EndpointUrl::try_from("gpu-01:8000").unwrap_err();
        assert!(
            bare.contains("`gpu-01:8000` is not an http(s) URL")
                && bare.contains("http://gpu-01:8000"),
            "{bare}"
        );
        assert!(EndpointUrl::try_from("ftp://host/v1").is_err());
        assert!(EndpointUrl::try_from("http://").is_err());
        assert!(EndpointUrl::try_from("not a url").is_err());
    }
}
