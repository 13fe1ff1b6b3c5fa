//! A training example as one JSON line, and the file they are written to.
//!
//! The line is the chat `messages` format that TRL's `SFTTrainer` and LLaMA-Factory (sharegpt
//! layout with `role`/`content` tags) read, plus a `meta` object the trainers leave alone:
//!
//! ```json
//! {"messages":[{"role":"user","content":"## Conversation\n\n..."},
//!              {"role":"assistant","content":"Accept the recommendation (Yes/No)? Yes"}],
//!  "meta":{"kind":"score","sample":"20001:3","item":"Heat (1995)","answer":"Yes"}}
//! ```
//!
//! The messages are exactly those the engine sends at inference, followed by the answer: the engine
//! sends one user message (no system message), so an example is a user and an assistant message.
//! The chat template of the model being trained adds whatever default system text it has, at
//! training as at inference (vLLM applies the same template).
//!
//! Files are written under a temporary name and renamed when complete, so a file with the final
//! name is always whole; a killed synthesis leaves only the `.partial` file, which the next run
//! overwrites.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::ChatMessage;

/// Which behaviour an example teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExampleKind {
    /// Attribute-based critique of a list (Eq. 3).
    Critique,
    /// The Yes/No acceptance of one item (Eq. 2).
    Score,
}

/// Where an example came from; never shown to the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleMeta {
    pub kind: ExampleKind,
    /// The sample (history) id.
    pub sample: String,
    /// Critique: the list's name (`critique/subset/{rank}`, `critique/no-label/{j}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// Critique: label items among the list's items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_in_list: Option<usize>,
    /// Score: the item asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// Score: the target answer, `Yes` for a label item, `No` for a negative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// One training example: the messages (the last is the assistant's target) and where it came
/// from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingExample {
    pub messages: Vec<ChatMessage>,
    pub meta: ExampleMeta,
}

impl TrainingExample {
    /// The instruction: every message but the last.
    pub fn prompt(&self) -> &[ChatMessage] {
        &self.messages[..self.messages.len().saturating_sub(1)]
    }

    /// The target: the last message's text.
    pub fn target(&self) -> &str {
        self.messages.last().map_or("", |message| &message.content)
    }

    /// The JSON line (no trailing newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("an example serialises")
    }
}

/// An examples file being written: lines go to `<name>.partial`, renamed to `<name>` by
/// [`ExampleFile::finish`].
pub struct ExampleFile {
    path: PathBuf,
    partial: PathBuf,
    writer: BufWriter<File>,
    lines: u64,
}

impl ExampleFile {
    /// Starts `path` (its `.partial` sibling is created or truncated).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let partial = partial_path(path);
        let writer = BufWriter::new(File::create(&partial)?);
        Ok(ExampleFile {
            path: path.to_path_buf(),
            partial,
            writer,
            lines: 0,
        })
    }

    /// Appends one example.
    pub fn write(&mut self, example: &TrainingExample) -> std::io::Result<()> {
        self.writer.write_all(example.to_line().as_bytes())?;
        self.writer.write_all(b"\n")?;
        self.lines += 1;
        Ok(())
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Flushes, syncs and renames the file to its final name.
    pub fn finish(self) -> std::io::Result<PathBuf> {
        let file = self
            .writer
            .into_inner()
            .map_err(|error| error.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.partial, &self.path)?;
        Ok(self.path)
    }
}

/// Writes a whole small file atomically (a temporary sibling, then a rename).
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let partial = partial_path(path);
    std::fs::write(&partial, contents)?;
    std::fs::rename(&partial, path)
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_chat_messages_with_meta_and_the_file_appears_whole() {
        let example = TrainingExample {
            messages: vec![
                ChatMessage::user("Do you like it?"),
                ChatMessage::assistant("Accept the recommendation (Yes/No)? No"),
            ],
            meta: ExampleMeta {
                kind: ExampleKind::Score,
                sample: "c:1".into(),
                list: None,
                labels_in_list: None,
                item: Some("Heat (1995)".into()),
                answer: Some("No".into()),
            },
        };
        assert_eq!(
            example.to_line(),
            r#"{"messages":[{"role":"user","content":"Do you like it?"},{"role":"assistant","content":"Accept the recommendation (Yes/No)? No"}],"meta":{"kind":"score","sample":"c:1","item":"Heat (1995)","answer":"No"}}"#
        );
        assert_eq!(example.prompt().len(), 1);
        assert_eq!(example.target(), "Accept the recommendation (Yes/No)? No");
        let read: TrainingExample = serde_json::from_str(&example.to_line()).unwrap();
        assert_eq!(read, example);

        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("score.jsonl");
        let mut file = ExampleFile::create(&path).unwrap();
        file.write(&example).unwrap();
        file.write(&example).unwrap();
        assert!(!path.exists() && folder.path().join("score.jsonl.partial").exists());
        assert_eq!(file.lines(), 2);
        file.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(!folder.path().join("score.jsonl.partial").exists());
    }
}
