//! Stop sequences: where the generated text must end.
//!
//! A stop string may span several tokens, so it is searched in the decoded text, not among token
//! strings; the answer is cut before the earliest match, as OpenAI-compatible servers do.

/// The byte offset in `text` of the earliest occurrence of any non-empty stop string.
pub fn earliest_stop(text: &str, stops: &[String]) -> Option<usize> {
    stops
        .iter()
        .filter(|stop| !stop.is_empty())
        .filter_map(|stop| text.find(stop.as_str()))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_match_wins_and_empty_stops_are_ignored() {
        let stops = vec!["".to_owned(), "lo".to_owned(), "ell".to_owned()];
        assert_eq!(earliest_stop("hello", &stops), Some(1));
        assert_eq!(earliest_stop("hi", &stops), None);
        assert_eq!(earliest_stop("hi", &[]), None);
    }
}
