//! The KV console: create a bucket, put, get and delete, and create buckets by the thousand,
//! so the chapter's iex session can be replayed by clicking.
//!
//! One row of fields and buttons, a line showing the iex equivalent of what a click (or
//! Enter) does, and the last few replies beside them. Enter submits: in the bucket field it
//! creates the bucket, in the key field it gets the key (or puts, if a value is typed), in
//! the value field it puts. Commands go out as [`UiCommand::Send`]; the app routes their
//! replies back here through [`KvConsole::record`].

use std::collections::VecDeque;

use crate::snapshot::model::Command;

use super::View;
use super::processes::{spawned_color, thousands};
use crate::gui::command::UiCommand;

/// How many replies the console shows.
const REPLIES_SHOWN: usize = 3;

/// What the console can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Create,
    Put,
    Get,
    Delete,
    CreateMany(u64),
}

/// A field of the console, to route Enter and keep the focus after a submit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Bucket,
    Key,
    Value,
}

/// One reply shown in the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyLine {
    /// Whether the command succeeded.
    pub is_ok: bool,
    /// What it was and what came back: `get shopping milk: "3"`.
    pub text: String,
}

/// The KV console.
pub struct KvConsole {
    /// The bucket's name.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The value to put.
    pub value: String,
    /// The last replies, newest last.
    replies: VecDeque<ReplyLine>,
    /// The last action run, for the iex line when nothing is hovered or focused.
    last_action: Action,
    /// Give this field the focus at the next frame (after Enter submitted from it).
    refocus: Option<Field>,
}

impl Default for KvConsole {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            key: String::new(),
            value: String::new(),
            replies: VecDeque::new(),
            last_action: Action::Create,
            refocus: None,
        }
    }
}

// === impl KvConsole ===

impl KvConsole {
    /// Records the reply to a console command, shown inline.
    pub fn record(&mut self, is_ok: bool, text: impl Into<String>) {
        self.replies.push_back(ReplyLine {
            is_ok,
            text: text.into(),
        });
        while self.replies.len() > REPLIES_SHOWN {
            self.replies.pop_front();
        }
    }

    /// The replies shown, oldest first.
    pub fn replies(&self) -> impl Iterator<Item = &ReplyLine> {
        self.replies.iter()
    }

    /// Draws the console.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &mut View<'_>) {
        let mut hovered = None;
        let mut focused = None;
        let mut submit = None;
        // Room for every reply line from the start, so the inputs never move.
        let line_height = ui.text_style_height(&egui::TextStyle::Body);
        let height = REPLIES_SHOWN as f32 * (line_height + ui.spacing().item_spacing.y);
        ui.horizontal_top(|ui| {
            ui.set_min_height(height);
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    self.inputs_ui(ui, &mut hovered, &mut focused, &mut submit);
                });
                let action = hovered.or(focused).unwrap_or(self.last_action);
                ui.horizontal(|ui| {
                    ui.weak("iex>");
                    ui.label(
                        egui::RichText::new(self.iex(action))
                            .monospace()
                            .color(ui.visuals().weak_text_color()),
                    )
                    .on_hover_text("What this does in the chapter's iex session");
                });
            });
            ui.separator();
            ui.vertical(|ui| {
                if self.replies.is_empty() {
                    ui.weak("Replies show here.");
                }
                for reply in self.replies.iter().rev() {
                    let (mark, color) = if reply.is_ok {
                        ("✔", spawned_color(ui.visuals()))
                    } else {
                        ("✖", ui.visuals().error_fg_color)
                    };
                    ui.horizontal(|ui| {
                        ui.label(egui::RichText::new(mark).color(color));
                        ui.add(egui::Label::new(reply.text.as_str()).truncate())
                            .on_hover_text(reply.text.as_str());
                    });
                }
            });
        });
        if let Some(action) = submit {
            self.run(action, view);
        }
    }

    fn inputs_ui(
        &mut self,
        ui: &mut egui::Ui,
        hovered: &mut Option<Action>,
        focused: &mut Option<Action>,
        submit: &mut Option<Action>,
    ) {
        ui.strong("KV");
        let has_bucket = !self.bucket.trim().is_empty();
        let has_key = !self.key.trim().is_empty();

        let label = ui.label("Bucket").id;
        let enter_on_bucket = Action::Create;
        if self.field_ui(
            ui,
            Field::Bucket,
            label,
            "shopping",
            110.0,
            focused,
            enter_on_bucket,
        ) {
            *submit = has_bucket.then_some(enter_on_bucket);
        }
        self.button_ui(
            ui,
            "Create bucket",
            Action::Create,
            has_bucket,
            hovered,
            submit,
        );
        ui.separator();

        let label = ui.label("Key").id;
        let enter_on_key = if self.value.is_empty() {
            Action::Get
        } else {
            Action::Put
        };
        if self.field_ui(ui, Field::Key, label, "milk", 90.0, focused, enter_on_key) {
            *submit = (has_bucket && has_key).then_some(enter_on_key);
        }
        let label = ui.label("Value").id;
        if self.field_ui(ui, Field::Value, label, "3", 90.0, focused, Action::Put) {
            *submit = (has_bucket && has_key).then_some(Action::Put);
        }
        let ready = has_bucket && has_key;
        self.button_ui(ui, "Put", Action::Put, ready, hovered, submit);
        self.button_ui(ui, "Get", Action::Get, ready, hovered, submit);
        self.button_ui(ui, "Delete", Action::Delete, ready, hovered, submit);
        ui.separator();

        for count in [1_000, 100_000] {
            let label = format!("Create {} buckets", thousands(count));
            self.button_ui(ui, &label, Action::CreateMany(count), true, hovered, submit);
        }
    }

    /// A text field labelled by the widget `label` (for screen readers and tests); true
    /// when Enter was pressed in it.
    #[allow(clippy::too_many_arguments)]
    fn field_ui(
        &mut self,
        ui: &mut egui::Ui,
        field: Field,
        label: egui::Id,
        hint: &str,
        width: f32,
        focused: &mut Option<Action>,
        on_enter: Action,
    ) -> bool {
        let text = match field {
            Field::Bucket => &mut self.bucket,
            Field::Key => &mut self.key,
            Field::Value => &mut self.value,
        };
        let response = ui
            .add(
                egui::TextEdit::singleline(text)
                    .hint_text(hint)
                    .desired_width(width),
            )
            .labelled_by(label);
        if self.refocus == Some(field) {
            response.request_focus();
            self.refocus = None;
        }
        if response.has_focus() {
            *focused = Some(on_enter);
        }
        let entered = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if entered {
            self.refocus = Some(field);
        }
        entered
    }

    fn button_ui(
        &self,
        ui: &mut egui::Ui,
        label: &str,
        action: Action,
        is_enabled: bool,
        hovered: &mut Option<Action>,
        submit: &mut Option<Action>,
    ) {
        let response = ui.add_enabled(is_enabled, egui::Button::new(label));
        let response = match action {
            Action::CreateMany(count) => response.on_hover_text(format!(
                "Starts {} buckets under KV.BucketSupervisor, to watch the Observer at scale",
                thousands(count)
            )),
            _ if !is_enabled => response
                .on_disabled_hover_text("Type a bucket name (and a key for put, get, delete)"),
            _ => response,
        };
        if response.hovered() || response.contains_pointer() {
            *hovered = Some(action);
        }
        if response.clicked() {
            *submit = Some(action);
        }
    }

    fn run(&mut self, action: Action, view: &mut View<'_>) {
        let bucket = self.bucket.trim().to_owned();
        let key = self.key.trim().to_owned();
        let command = match action {
            Action::Create => Command::CreateBucket { name: bucket },
            Action::Put => Command::Put {
                bucket,
                key,
                value: self.value.clone(),
            },
            Action::Get => Command::Get { bucket, key },
            Action::Delete => Command::Delete { bucket, key },
            Action::CreateMany(count) => Command::CreateBuckets { count },
        };
        self.last_action = action;
        view.push(UiCommand::Send(command));
    }

    /// The iex line the chapter would type for `action`, with the fields' values.
    fn iex(&self, action: Action) -> String {
        let or = |text: &str, example: &str| {
            let text = text.trim();
            format!("{:?}", if text.is_empty() { example } else { text })
        };
        let bucket = or(&self.bucket, "shopping");
        let key = or(&self.key, "milk");
        let value = if self.value.is_empty() {
            "\"3\"".to_owned()
        } else {
            format!("{:?}", self.value)
        };
        let lookup = format!("{{:ok, bucket}} = KV.Registry.lookup(KV.Registry, {bucket}); ");
        match action {
            Action::Create => format!("KV.Registry.create(KV.Registry, {bucket})"),
            Action::Put => format!("{lookup}KV.Bucket.put(bucket, {key}, {value})"),
            Action::Get => format!("{lookup}KV.Bucket.get(bucket, {key})"),
            Action::Delete => format!("{lookup}KV.Bucket.delete(bucket, {key})"),
            Action::CreateMany(count) => format!(
                "for i <- 1..{count}, do: KV.Registry.create(KV.Registry, \"bucket-#{{i}}\")"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iex_lines_follow_the_chapter() {
        let mut console = KvConsole::default();
        assert_eq!(
            console.iex(Action::Create),
            r#"KV.Registry.create(KV.Registry, "shopping")"#
        );
        console.bucket = "groceries".into();
        console.key = "eggs".into();
        assert_eq!(
            console.iex(Action::Get),
            r#"{:ok, bucket} = KV.Registry.lookup(KV.Registry, "groceries"); KV.Bucket.get(bucket, "eggs")"#
        );
        assert_eq!(
            console.iex(Action::CreateMany(1000)),
            r#"for i <- 1..1000, do: KV.Registry.create(KV.Registry, "bucket-#{i}")"#
        );
    }

    #[test]
    fn only_the_last_replies_are_kept() {
        let mut console = KvConsole::default();
        for n in 0..5 {
            console.record(true, format!("reply {n}"));
        }
        let texts: Vec<&str> = console.replies().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["reply 2", "reply 3", "reply 4"]);
    }
}
