//! An application's console, drawn from what the source says the app accepts: one field per
//! argument its commands ask for (shared by the commands that name it), one button per
//! command, the command's equivalent in the app's own language (the KV app's iex line), and
//! the last few replies. The KV console replays the chapter's iex session by clicking; any
//! other app a source describes gets the same console.
//!
//! Enter in a field runs the first command (in the app's order) that lists the field in its
//! `submit_from` and has all its arguments; the focus stays in the field. Commands on one
//! process (`on_process`) are not here: they are in that process's right-click menu.
//!
//! A command still running shows under the app's own language line: with a progress bar
//! once its source reports how far it has got (`412,000 of 1,000,000 buckets created`), or
//! with a spinner once it has run for [`SHOW_RUNNING_AFTER`] without a report (so quick
//! commands never flicker). Its reply then shows with the others.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use otpscope_contract::{AppCommand, AppSpec, ArgSpec, CommandSpec, Progress};

use super::View;
use crate::command::UiCommand;
use crate::source::RequestId;
use crate::style;

/// How many replies the console shows.
const REPLIES_SHOWN: usize = 3;

/// A command that reports no progress shows as running once it has run this long.
pub const SHOW_RUNNING_AFTER: Duration = Duration::from_millis(400);

/// The widest a running command's progress bar gets, in points.
const PROGRESS_WIDTH: f32 = 380.0;

/// One reply shown in the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyLine {
    /// Whether the command succeeded.
    pub is_ok: bool,
    /// What it was and what came back: `get shopping milk: "3"`.
    pub text: String,
}

/// One of the console's commands still running.
#[derive(Clone, Debug, PartialEq)]
pub struct Running {
    /// What the command is, as the console says it (`Create 1,000,000 buckets`).
    pub what: String,
    /// When it was sent.
    pub started: Instant,
    /// How far it has got, as last reported; `None` before any report.
    pub progress: Option<Progress>,
}

impl Running {
    /// Whether its line shows at `now`: once it has reported, or has run a while.
    pub fn is_shown(&self, now: Instant) -> bool {
        self.progress.is_some() || now.saturating_duration_since(self.started) >= SHOW_RUNNING_AFTER
    }
}

/// The console of one application.
#[derive(Default)]
pub struct AppConsole {
    /// What is typed in each field, by argument name.
    typed: BTreeMap<String, String>,
    /// The last replies, newest last.
    replies: VecDeque<ReplyLine>,
    /// Its commands sent and not yet answered, by request id (so in the order sent).
    running: BTreeMap<RequestId, Running>,
    /// The reply to the last command that reported progress, shown where its progress was
    /// (the replies' column is narrow) until another command is sent.
    ended: Option<ReplyLine>,
    /// The command last run (its index in the app's commands), for the equivalent line when
    /// nothing is hovered or focused.
    last: usize,
    /// Give this field the focus at the next frame (after Enter submitted from it).
    refocus: Option<String>,
}

// === impl AppConsole ===

impl AppConsole {
    /// Records the reply to one of its commands, shown inline.
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

    /// Records the reply to a command that reported progress: shown with the others, and
    /// where its progress was.
    pub fn record_ended(&mut self, is_ok: bool, text: impl Into<String>) {
        let line = ReplyLine {
            is_ok,
            text: text.into(),
        };
        self.record(line.is_ok, line.text.clone());
        self.ended = Some(line);
    }

    /// The reply shown where the progress of the command it answers was, if any.
    pub fn ended(&self) -> Option<&ReplyLine> {
        self.ended.as_ref()
    }

    /// Notes that command `id`, `what`, was sent at `now`; its line shows while it runs.
    pub fn started(&mut self, id: RequestId, what: impl Into<String>, now: Instant) {
        self.ended = None;
        let what = what.into();
        self.running.insert(
            id,
            Running {
                what,
                started: now,
                progress: None,
            },
        );
    }

    /// Takes a report of how far command `id` has got (ignored once it has answered).
    pub fn progress(&mut self, id: RequestId, progress: Progress) {
        if let Some(running) = self.running.get_mut(&id) {
            running.progress = Some(progress);
        }
    }

    /// Command `id` answered: it no longer runs. What it was, if it was this console's.
    pub fn finished(&mut self, id: RequestId) -> Option<Running> {
        self.running.remove(&id)
    }

    /// Its commands still running, in the order sent.
    pub fn running(&self) -> impl Iterator<Item = &Running> {
        self.running.values()
    }

    /// How long until a running command with no report yet shows its line, if one is
    /// waiting to: when the UI must wake with nothing arriving.
    pub fn next_shown_in(&self, now: Instant) -> Option<Duration> {
        self.running
            .values()
            .filter(|running| !running.is_shown(now))
            .map(|running| {
                SHOW_RUNNING_AFTER.saturating_sub(now.saturating_duration_since(running.started))
            })
            .min()
    }

    /// What is typed in field `name`.
    pub fn typed(&self, name: &str) -> &str {
        self.typed.get(name).map_or("", String::as_str)
    }

    /// Draws the console of `app`.
    pub fn ui(&mut self, ui: &mut egui::Ui, app: &AppSpec, view: &mut View<'_>) {
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
                    ui.strong(&app.title);
                    self.fields_ui(ui, app, &mut focused, &mut submit);
                    self.buttons_ui(ui, app, &mut hovered, &mut submit);
                });
                let shown = hovered.or(focused).unwrap_or(self.last);
                if let Some(line) = self.equivalent(app, shown) {
                    ui.horizontal(|ui| {
                        if let Some(prompt) = &app.prompt {
                            ui.weak(prompt);
                        }
                        ui.label(
                            egui::RichText::new(line)
                                .monospace()
                                .color(ui.visuals().weak_text_color()),
                        )
                        .on_hover_text("What this does in the app's own language");
                    });
                }
                self.running_ui(ui);
            });
            ui.separator();
            self.replies_ui(ui);
        });
        if let Some(index) = submit {
            self.run(app, index, view);
        }
    }

    fn fields_ui(
        &mut self,
        ui: &mut egui::Ui,
        app: &AppSpec,
        focused: &mut Option<usize>,
        submit: &mut Option<usize>,
    ) {
        for field in app.fields() {
            let label = ui.label(&field.label).id;
            let text = self.typed.entry(field.name.clone()).or_default();
            let response = ui
                .add(
                    egui::TextEdit::singleline(text)
                        .hint_text(&field.hint)
                        .desired_width(100.0),
                )
                .labelled_by(label);
            if self.refocus.as_deref() == Some(field.name.as_str()) {
                response.request_focus();
                self.refocus = None;
            }
            let on_enter = self.submitted_from(app, &field.name);
            if response.has_focus() {
                *focused = on_enter;
            }
            if response.lost_focus() && ui.input(|input| input.key_pressed(egui::Key::Enter)) {
                self.refocus = Some(field.name.clone());
                *submit = on_enter;
            }
        }
    }

    fn buttons_ui(
        &self,
        ui: &mut egui::Ui,
        app: &AppSpec,
        hovered: &mut Option<usize>,
        submit: &mut Option<usize>,
    ) {
        let mut had_args = false;
        for (index, command) in console_commands(app) {
            // A separator before the commands the fields do not feed (Create 1,000 buckets).
            if had_args && command.args.is_empty() {
                ui.separator();
            }
            had_args = !command.args.is_empty();
            let missing = self.missing(command);
            let response = ui.add_enabled(missing.is_empty(), egui::Button::new(&command.label));
            let response = if missing.is_empty() {
                response.on_hover_text(&command.help)
            } else {
                response.on_disabled_hover_text(format!("Fill in: {}", missing.join(", ")))
            };
            if response.hovered() || response.contains_pointer() {
                *hovered = Some(index);
            }
            if response.clicked() {
                *submit = Some(index);
            }
        }
    }

    /// The line under the app's own language: the first of its commands still running that
    /// shows (see the module docs), and how many more run.
    fn running_ui(&self, ui: &mut egui::Ui) {
        let now = Instant::now();
        let mut shown = self
            .running
            .values()
            .filter(|running| running.is_shown(now));
        let Some(first) = shown.next() else {
            if let Some(ended) = &self.ended {
                ui.horizontal(|ui| reply_line_ui(ui, ended));
            }
            return;
        };
        let more = shown.count();
        ui.horizontal(|ui| {
            running_line_ui(ui, first);
            if more > 0 {
                ui.weak(format!("+ {more} more running"));
            }
        });
    }

    fn replies_ui(&self, ui: &mut egui::Ui) {
        ui.vertical(|ui| {
            if self.replies.is_empty() {
                ui.weak("Replies show here.");
            }
            for reply in self.replies.iter().rev() {
                ui.horizontal(|ui| reply_line_ui(ui, reply));
            }
        });
    }

    /// The labels of the arguments `command` asks for that are not typed.
    fn missing<'a>(&self, command: &'a CommandSpec) -> Vec<&'a str> {
        command
            .args
            .iter()
            .filter(|arg| arg.parse(self.typed(&arg.name).trim()).is_none())
            .map(|arg| arg.label.as_str())
            .collect()
    }

    /// The command Enter in field `name` runs now: the first that lists the field and has
    /// all its arguments.
    fn submitted_from(&self, app: &AppSpec, name: &str) -> Option<usize> {
        console_commands(app)
            .find(|(_, command)| {
                command.submit_from.iter().any(|field| field == name)
                    && self.missing(command).is_empty()
            })
            .map(|(index, _)| index)
    }

    /// The command at `index` with the fields' values, or their hints as examples.
    fn example(&self, app: &AppSpec, index: usize) -> Option<AppCommand> {
        let command = app.commands.get(index)?;
        let value = |arg: &ArgSpec| {
            let typed = self.typed(&arg.name).trim();
            arg.parse(typed).or_else(|| arg.parse(&arg.hint))
        };
        command
            .command(&app.name, |name| {
                command
                    .args
                    .iter()
                    .find(|arg| arg.name == name)
                    .and_then(value)
            })
            .ok()
    }

    /// The app's own line for the command at `index`.
    fn equivalent(&self, app: &AppSpec, index: usize) -> Option<String> {
        let command = self.example(app, index)?;
        app.commands.get(index)?.equivalent_of(&command)
    }

    fn run(&mut self, app: &AppSpec, index: usize, view: &mut View<'_>) {
        let Some(spec) = app.commands.get(index) else {
            return;
        };
        let command = spec.command(&app.name, |name| {
            let arg = spec.args.iter().find(|arg| arg.name == name)?;
            arg.parse(self.typed(name).trim())
        });
        match command {
            Ok(command) => {
                self.last = index;
                view.push(UiCommand::Send(otpscope_contract::Command::App(command)));
            }
            Err(missing) => self.record(false, format!("{}: {missing}", spec.label)),
        }
    }
}

/// A reply: a mark for success or failure, then its text (truncated, whole on hover).
fn reply_line_ui(ui: &mut egui::Ui, reply: &ReplyLine) {
    let (mark, color) = if reply.is_ok {
        ("✔", style::success_color(ui.visuals()))
    } else {
        ("✖", ui.visuals().error_fg_color)
    };
    ui.label(egui::RichText::new(mark).color(color));
    ui.add(egui::Label::new(reply.text.as_str()).truncate())
        .on_hover_text(reply.text.as_str());
}

/// A running command: `Create 1,000,000 buckets…` and a bar that reads `412,000 of
/// 1,000,000 buckets created · 41%`, or a spinner until it reports.
fn running_line_ui(ui: &mut egui::Ui, running: &Running) {
    let height = ui.text_style_height(&egui::TextStyle::Body);
    ui.label(format!("{}…", running.what));
    match &running.progress {
        Some(progress) => {
            let fraction = progress.fraction();
            let text = format!("{progress} · {}%", (fraction * 100.0).floor());
            let width = ui.available_width().clamp(120.0, PROGRESS_WIDTH);
            ui.add(
                egui::ProgressBar::new(fraction as f32)
                    .text(text)
                    .desired_width(width)
                    .desired_height(height),
            );
        }
        None => {
            ui.add(egui::Spinner::new().size(height));
            ui.weak("running");
        }
    }
}

/// The commands of `app` a console shows (not those on one process), with their index.
fn console_commands(app: &AppSpec) -> impl Iterator<Item = (usize, &CommandSpec)> {
    app.commands
        .iter()
        .enumerate()
        .filter(|(_, command)| command.on_process.is_none())
}

#[cfg(test)]
mod tests {
    use otpscope_contract::ArgKind;

    use super::*;

    fn kv() -> AppSpec {
        let bucket = ArgSpec::new("bucket", "Bucket", ArgKind::Text).hint("shopping");
        let key = ArgSpec::new("key", "Key", ArgKind::Text).hint("milk");
        let value = ArgSpec::new("value", "Value", ArgKind::Text).hint("3");
        AppSpec {
            name: "kv".into(),
            title: "KV".into(),
            prompt: Some("iex>".into()),
            commands: vec![
                CommandSpec::new("create_bucket", "Create bucket")
                    .arg(bucket.clone())
                    .equivalent("KV.Registry.create(KV.Registry, \"{bucket}\")")
                    .submit_from(["bucket"]),
                CommandSpec::new("put", "Put")
                    .arg(bucket.clone())
                    .arg(key.clone())
                    .arg(value)
                    .submit_from(["key", "value"]),
                CommandSpec::new("get", "Get")
                    .arg(bucket)
                    .arg(key)
                    .equivalent("KV.Bucket.get(bucket, \"{key}\")")
                    .submit_from(["key"]),
            ],
        }
    }

    #[test]
    fn the_equivalent_line_shows_the_fields_or_their_examples() {
        let app = kv();
        let mut console = AppConsole::default();
        assert_eq!(
            console.equivalent(&app, 0).unwrap(),
            r#"KV.Registry.create(KV.Registry, "shopping")"#
        );
        console.typed.insert("key".into(), "eggs".into());
        assert_eq!(
            console.equivalent(&app, 2).unwrap(),
            r#"KV.Bucket.get(bucket, "eggs")"#
        );
    }

    #[test]
    fn enter_runs_the_first_command_of_the_field_whose_arguments_are_all_given() {
        let app = kv();
        let mut console = AppConsole::default();
        console.typed.insert("bucket".into(), "shopping".into());
        assert_eq!(console.submitted_from(&app, "bucket"), Some(0));
        assert_eq!(console.submitted_from(&app, "key"), None, "no key yet");
        console.typed.insert("key".into(), "milk".into());
        assert_eq!(
            console.submitted_from(&app, "key"),
            Some(2),
            "get without a value"
        );
        console.typed.insert("value".into(), "3".into());
        assert_eq!(console.submitted_from(&app, "key"), Some(1), "put with one");
        assert_eq!(console.missing(&app.commands[1]), Vec::<&str>::new());
    }

    #[test]
    fn a_running_command_shows_once_it_reports_or_has_run_a_while_and_its_end_stays() {
        let mut console = AppConsole::default();
        let start = Instant::now();
        console.started(7, "Create 1,000,000 buckets", start);
        let is_shown = |console: &AppConsole, at: Instant| {
            console.running().next().is_some_and(|r| r.is_shown(at))
        };
        assert!(!is_shown(&console, start));
        assert_eq!(console.next_shown_in(start), Some(SHOW_RUNNING_AFTER));
        assert!(is_shown(&console, start + SHOW_RUNNING_AFTER));
        console.progress(7, Progress::new(10, 100, "buckets created"));
        assert!(is_shown(&console, start), "a report shows it at once");
        assert_eq!(console.next_shown_in(start), None);
        console.progress(8, Progress::new(1, 2, "other"));
        let running = console.finished(7).unwrap();
        assert_eq!(
            running.progress,
            Some(Progress::new(10, 100, "buckets created"))
        );
        assert_eq!(console.finished(7), None, "answered once");
        console.record_ended(true, "done");
        assert_eq!(console.ended().map(|line| line.text.as_str()), Some("done"));
        assert_eq!(console.replies().count(), 1, "and with the other replies");
        console.started(9, "Get", start);
        assert_eq!(console.ended(), None, "until another command is sent");
    }

    #[test]
    fn only_the_last_replies_are_kept() {
        let mut console = AppConsole::default();
        for n in 0..5 {
            console.record(true, format!("reply {n}"));
        }
        let texts: Vec<&str> = console.replies().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["reply 2", "reply 3", "reply 4"]);
    }
}
