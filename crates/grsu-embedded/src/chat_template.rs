//! Turning chat messages into the prompt text the model was trained on.
//!
//! The model's own Jinja chat template (GGUF `tokenizer.chat_template`) is rendered with
//! minijinja, configured like Hugging Face's `apply_chat_template` (`trim_blocks`,
//! `lstrip_blocks`, Python string methods, `raise_exception`), so the embedded model sees the same
//! prompt as a vLLM server running the same model would.
//!
//! `continue_final_message` follows vLLM (which delegates to Hugging Face): the conversation is
//! rendered without a generation prompt and the text is cut right after the final assistant
//! message's (whitespace-trimmed) content, dropping its end-of-turn marker, so the model goes on
//! writing that message instead of answering it.

use minijinja::{context, Environment, Error, ErrorKind, Value};

use crate::embedded_error;
use grsu::model::{ChatMessage, ChatRequest, ModelError};

const TEMPLATE_NAME: &str = "chat_template";

/// Stands in for an empty final message when continuing it: an empty string cannot be located in
/// the rendered text, a marker that appears nowhere else can.
const EMPTY_CONTINUATION_MARKER: &str = "\u{1}grsu-continue-final-message\u{1}";

/// A compiled chat template together with the special tokens it may refer to.
pub struct ChatTemplate {
    environment: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    /// Compiles `source`; `bos_token` and `eos_token` are the texts templates know by those names.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self, ModelError> {
        let mut environment = Environment::new();
        environment.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .map_err(template_error)?,
        );
        environment
            .set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        environment.add_function(
            "raise_exception",
            |message: String| -> Result<Value, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        environment
            .add_template_owned(TEMPLATE_NAME, source.to_owned())
            .map_err(template_error)?;
        Ok(ChatTemplate {
            environment,
            bos_token: bos_token.to_owned(),
            eos_token: eos_token.to_owned(),
        })
    }

    /// The prompt for a request: its messages, with the assistant header when
    /// `add_generation_prompt`, or cut open after the final message when `continue_final_message`.
    pub fn render_prompt(&self, request: &ChatRequest) -> Result<String, ModelError> {
        if !request.continue_final_message {
            return self.render(&request.messages, request.add_generation_prompt);
        }
        let last = request.messages.last().ok_or_else(|| {
            embedded_error("continue_final_message needs at least one message to continue")
        })?;
        if last.role != "assistant" {
            return Err(embedded_error(format!(
                "continue_final_message needs a final assistant message, the last one is {:?}",
                last.role
            )));
        }
        let content = last.content.trim();
        if content.is_empty() {
            let mut messages = request.messages.clone();
            if let Some(last) = messages.last_mut() {
                last.content = EMPTY_CONTINUATION_MARKER.to_owned();
            }
            let rendered = self.render(&messages, false)?;
            let end = rendered.rfind(EMPTY_CONTINUATION_MARKER).ok_or_else(|| {
                embedded_error("the chat template dropped the final message to continue")
            })?;
            return Ok(rendered[..end].to_owned());
        }
        let rendered = self.render(&request.messages, false)?;
        let start = rendered.rfind(content).ok_or_else(|| {
            embedded_error("the chat template does not reproduce the final message to continue")
        })?;
        Ok(rendered[..start + content.len()].to_owned())
    }

    /// Renders `messages` as the template writes them.
    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, ModelError> {
        let template = self
            .environment
            .get_template(TEMPLATE_NAME)
            .map_err(template_error)?;
        template
            .render(context! {
                messages => messages.iter().map(message_value).collect::<Vec<_>>(),
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos_token.as_str(),
                eos_token => self.eos_token.as_str(),
            })
            .map_err(template_error)
    }
}

/// A message as templates see it: a map with `role` and `content`.
fn message_value(message: &ChatMessage) -> Value {
    Value::from_pairs([
        ("role", message.role.as_str()),
        ("content", message.content.as_str()),
    ])
}

fn template_error(error: Error) -> ModelError {
    embedded_error(format!("chat template: {error:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ChatML template of SmolLM2 (as stored in its GGUF file).
    const CHATML: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    fn template() -> ChatTemplate {
        ChatTemplate::new(CHATML, "<|im_start|>", "<|im_end|>").unwrap()
    }

    #[test]
    fn the_generation_prompt_opens_an_assistant_turn() {
        let mut request = ChatRequest::new(vec![ChatMessage::system("S"), ChatMessage::user("Hi")]);
        let prompt = template().render_prompt(&request).unwrap();
        assert_eq!(
            prompt,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        request.add_generation_prompt = false;
        let prompt = template().render_prompt(&request).unwrap();
        assert!(prompt.ends_with("Hi<|im_end|>\n"), "{prompt:?}");
    }

    #[test]
    fn continuing_cuts_after_the_final_message() {
        let mut request = ChatRequest::new(vec![
            ChatMessage::user("Hi"),
            ChatMessage::assistant("Accept? "),
        ]);
        request.continue_final_message = true;
        request.add_generation_prompt = false;
        let prompt = template().render_prompt(&request).unwrap();
        assert!(
            prompt.ends_with("<|im_start|>assistant\nAccept?"),
            "{prompt:?}"
        );

        request.messages[1].content = String::new();
        let prompt = template().render_prompt(&request).unwrap();
        assert!(prompt.ends_with("<|im_start|>assistant\n"), "{prompt:?}");
    }

    #[test]
    fn continuing_a_user_message_is_refused() {
        let mut request = ChatRequest::new(vec![ChatMessage::user("Hi")]);
        request.continue_final_message = true;
        assert!(template().render_prompt(&request).is_err());
    }

    #[test]
    fn python_string_methods_and_raise_exception_work() {
        let source = "{% if messages[0]['role'] != 'user' %}{{ raise_exception('bad') }}{% endif %}{{ messages[0]['content'].strip() }}";
        let template = ChatTemplate::new(source, "", "").unwrap();
        assert_eq!(
            template
                .render(&[ChatMessage::user("  x ")], false)
                .unwrap(),
            "x"
        );
        let err = template
            .render(&[ChatMessage::system("x")], false)
            .unwrap_err();
        assert!(err.to_string().contains("bad"), "{err}");
    }
}
