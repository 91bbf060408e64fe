//! The Observer app: each frame, logic (drain the source, apply updates, take replies), then
//! ui (draw from the state, widgets push commands), then the commands run.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use otpscope_contract::{
    Capabilities, Command, CommandError, EventKind, Pid, Progress, Reply, Update,
};

use super::command::UiCommand;
use super::extension::Extension;
use super::format;
use super::panels::View;
use super::panels::applications::ApplicationsPanel;
use super::panels::console::AppConsole;
use super::panels::details::DetailsPanel;
use super::panels::dialogs::{Dialog, Dialogs};
use super::panels::events::EventsPanel;
use super::panels::notices::Notices;
use super::panels::process_window::ProcessWindows;
use super::panels::processes::ProcessesPanel;
use super::panels::system::SystemPanel;
use super::panels::timeline::{TimelineAction, TimelinePanel};
use super::panels::top_bar::TopBar;
use super::recorder::flight::Took;
use super::recorder::{HeaderInfo, Recorder, SaveKind};
use super::source::{Link, RequestId, Source};
use super::state::{ChildList, ObserverState, PREFERENCES_KEY, Preferences, Tab, Theme};
use super::style;

/// The environment variable that makes each frame print what caused it (see
/// [`trace_repaint`]): how to find what keeps an Observer at rest from resting.
pub const TRACE_REPAINTS_VAR: &str = "OTPSCOPE_TRACE_REPAINTS";

/// At most this many updates are applied in one frame, so a flood cannot freeze the UI.
const MAX_UPDATES_PER_FRAME: usize = 256;

/// What a request sent to the source was for, to route its reply.
#[derive(Clone, Debug)]
enum Pending {
    /// A process window asked for a process's state.
    State(Pid),
    /// Any other command: report failures as notices.
    Other(String),
    /// An application's command from its console: its reply shows in that console (and
    /// values and failures as notices too).
    Console {
        /// The app.
        app: String,
        /// What the command was, as the console says it.
        what: String,
    },
    /// A supervisor's context menu asked for its children.
    Children(Pid),
}

/// The Observer; see the module docs.
pub struct ObserverApp {
    /// Where snapshots come from and commands go.
    source: Box<dyn Source>,
    /// What the Observer knows.
    pub state: ObserverState,
    /// The user's preferences, saved between runs.
    pub prefs: Preferences,
    /// The tab shown.
    pub tab: Tab,
    /// While paused, nothing is drained from the source; the view stays as it is.
    pub paused: bool,
    /// The panels.
    pub top_bar: TopBar,
    /// The Applications tab.
    pub applications: ApplicationsPanel,
    /// The details side panel.
    pub details: DetailsPanel,
    /// The Processes tab.
    pub processes: ProcessesPanel,
    /// The System tab.
    pub system: SystemPanel,
    /// The Events tab.
    pub events: EventsPanel,
    /// The timeline under the panels, drawn when the source has one.
    pub timeline: TimelinePanel,
    /// The source timeline's generation last seen: when it grows (a seek), the state
    /// starts over.
    timeline_generation: u64,
    /// Each application's console, by app name (the KV console).
    pub consoles: BTreeMap<String, AppConsole>,
    /// Open process windows.
    pub windows: ProcessWindows,
    /// Commands pushed during the frame.
    commands: Vec<UiCommand>,
    /// Requests awaiting replies.
    pending: HashMap<RequestId, Pending>,
    /// The dialog shown over everything, if any.
    pub dialogs: Dialogs,
    /// The notices at the bottom right.
    pub notices: Notices,
    /// The preferences last applied (to notice changes of interval or theme).
    applied: Option<Preferences>,
    /// What the title says is observed.
    title: String,
    /// Set by `OTPSCOPE_TRACE_REPAINTS`: each frame prints what caused it, on stderr.
    trace_repaints: bool,
    /// Panels the embedding program added (the lesson, chaos), in top-bar order.
    extensions: Vec<Box<dyn Extension>>,
    /// The extension shown in the left side panel, if one is open.
    pub open_extension: Option<usize>,
    /// The Record button's file and the flight recorder: what the Observer takes from its
    /// source and sends to it, whatever the source is.
    pub recorder: Recorder,
}

impl ObserverApp {
    /// An Observer on `source` with saved `prefs`.
    pub fn new(mut source: Box<dyn Source>, prefs: Preferences) -> Self {
        let title = source.title();
        // A source with a timeline (a replay) starts over at each seek: nothing to record.
        let is_recordable = source.timeline().is_none();
        let mut state = ObserverState::new();
        state.data_clock = !is_recordable;
        Self {
            source,
            state,
            tab: prefs.tab,
            prefs,
            paused: false,
            top_bar: TopBar::default(),
            applications: ApplicationsPanel::default(),
            details: DetailsPanel::default(),
            processes: ProcessesPanel::default(),
            system: SystemPanel::default(),
            events: EventsPanel::default(),
            timeline: TimelinePanel::default(),
            timeline_generation: 0,
            consoles: BTreeMap::new(),
            windows: ProcessWindows::default(),
            commands: Vec::new(),
            pending: HashMap::new(),
            dialogs: Dialogs::default(),
            notices: Notices::default(),
            applied: None,
            title,
            trace_repaints: std::env::var_os(TRACE_REPAINTS_VAR).is_some(),
            extensions: Vec::new(),
            open_extension: None,
            recorder: Recorder::new(is_recordable),
        }
    }

    /// Adds a panel of the embedding program's (see [`Extension`]); the first one that asks
    /// to be open at start is shown.
    pub fn with_extension(mut self, extension: Box<dyn Extension>) -> Self {
        if self.open_extension.is_none() && extension.is_open_at_start() {
            self.open_extension = Some(self.extensions.len());
        }
        self.extensions.push(extension);
        self
    }

    /// Adds each of `extensions` in turn (see [`with_extension`](Self::with_extension)).
    pub fn with_extensions(self, extensions: impl IntoIterator<Item = Box<dyn Extension>>) -> Self {
        extensions.into_iter().fold(self, Self::with_extension)
    }

    /// What is observed, as the title bar says it.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Whether the source's data is live.
    pub fn link(&self) -> Link {
        self.source.link()
    }

    /// Selects `pid` and shows it in the Applications tab.
    pub fn reveal(&mut self, pid: Pid) {
        self.commands.push(UiCommand::Reveal(pid));
        self.run_commands();
    }

    /// Lets the source wake the UI when something arrives.
    pub fn install_waker(&mut self, ctx: &egui::Context) {
        let wake = ctx.clone();
        self.source
            .set_waker(Box::new(move || wake.request_repaint()));
        for extension in &mut self.extensions {
            let ctx = ctx.clone();
            extension.set_waker(Box::new(move || ctx.request_repaint()));
        }
        let ctx = ctx.clone();
        self.recorder
            .set_waker(Box::new(move || ctx.request_repaint()));
    }

    /// One whole frame: logic, ui, then the commands. What both eframe and tests call.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        self.logic(ui.ctx());
        self.ui(ui);
        self.run_commands();
    }

    /// Drains the source (unless paused), applies updates and takes replies.
    pub fn logic(&mut self, ctx: &egui::Context) {
        if self.trace_repaints {
            trace_repaint(ctx);
        }
        self.apply_preferences(ctx);
        if let Some(timeline) = self.source.timeline() {
            if let Some(after) = timeline.advance(Instant::now()) {
                ctx.request_repaint_after(after);
            }
            let generation = timeline.generation();
            if generation != self.timeline_generation {
                self.timeline_generation = generation;
                self.state.start_over();
                // The charts as they would have been had the stretch played to here.
                self.state.rebuild_load(
                    Instant::now(),
                    timeline.position_ms(),
                    timeline.load_until_playhead(),
                );
            }
        }
        if !self.paused {
            let mut applied = 0;
            while applied < MAX_UPDATES_PER_FRAME {
                let Some(update) = self.source.try_recv() else {
                    break;
                };
                self.apply(update);
                applied += 1;
            }
            if applied == MAX_UPDATES_PER_FRAME {
                // More may wait, and the source woke the UI only once for them.
                ctx.request_repaint();
            }
        }
        // Reports before replies: a command's last report and its reply may come together.
        while let Some((id, progress)) = self.source.try_progress() {
            self.take_progress(id, progress);
        }
        while let Some((id, reply)) = self.source.try_reply() {
            self.recorder.reply(Instant::now(), id, &reply);
            self.take_reply(id, reply);
        }
        let now = Instant::now();
        // A command still running shows in its console after a while, with nothing arriving.
        if let Some(until) = self
            .consoles
            .values()
            .filter_map(|console| console.next_shown_in(now))
            .min()
        {
            ctx.request_repaint_after(until);
        }
        self.recorder_logic(ctx, now);
        if !self.paused {
            let memory_bytes = self.source.memory_bytes();
            // On a timeline the load's time is the playhead's, whatever the speed.
            match self.source.timeline() {
                Some(timeline) => {
                    let (position_ms, is_playing) = (timeline.position_ms(), timeline.is_playing());
                    self.state
                        .sample_load_on_timeline(now, position_ms, is_playing, memory_bytes);
                }
                None => self.state.sample_load(now, memory_bytes),
            }
            self.state.sample_rates(now);
        }
        self.state.forget_old_marks(now);
        // When a mark ends, what it marks changes (a ghost leaves the tree, a name in the
        // table loses its colour) with no update to wake the UI. Nothing else here asks for
        // a repaint: the source wakes the UI when an update or a reply arrives (see
        // `install_waker`), and a view that changes with time asks for itself.
        if let Some(until) = self.state.next_mark_end(now) {
            ctx.request_repaint_after(until);
        }
    }

    /// Applies an update from the source, and hands it to the recorders.
    fn apply(&mut self, update: Update) {
        let now = Instant::now();
        let gave_up = match &update {
            Update::Events { events, .. } => events.iter().find_map(|event| match event.kind {
                EventKind::SupervisorGaveUp { supervisor, .. } => Some(supervisor),
                _ => None,
            }),
            _ => None,
        };
        // A full snapshot is handed over as the state then holds it, shared, not copied.
        let copy = (self.recorder.is_recordable() && !matches!(update, Update::Full(_)))
            .then(|| update.clone());
        self.state.apply(update);
        if self.recorder.is_recordable() {
            let took = match (copy, &self.state.snapshot) {
                (Some(update), _) => Some(Took::Update(update)),
                (None, Some(snapshot)) => Some(Took::Full(snapshot.clone())),
                (None, None) => None,
            };
            if let Some(took) = took {
                self.recorder.took(now, took, self.state.snapshot.as_ref());
            }
        }
        if let Some(supervisor) = gave_up {
            let who = format::label_or_pid(supervisor, self.state.process(supervisor));
            if let Some(text) = self.recorder.gave_up(now, self.prefs.save_on_give_up, &who) {
                self.state.notice(text);
            }
        }
    }

    /// Shows how finished writes ended, and makes the automatic save when it is due.
    fn recorder_logic(&mut self, ctx: &egui::Context, now: Instant) {
        for finished in self.recorder.finished() {
            self.state.notice(finished.notice());
        }
        // Built only when the save is made: the closure borrows the title and the source,
        // not the recorder.
        let header = || header_info(&self.title, self.source.as_ref());
        let current = self.state.snapshot.as_ref();
        let (due_in, failed) = self.recorder.auto_save_if_due(now, header, current);
        if let Some(text) = failed {
            self.state.notice(text);
        }
        if let Some(due_in) = due_in {
            ctx.request_repaint_after(due_in);
        }
    }

    /// Sends `command` to the source, and hands it to the recorders.
    fn send(&mut self, command: Command) -> RequestId {
        let recorded = self.recorder.is_recordable().then(|| command.clone());
        let id = self.source.send(command);
        if let Some(command) = recorded {
            self.recorder.command(Instant::now(), id, &command);
        }
        id
    }

    fn apply_preferences(&mut self, ctx: &egui::Context) {
        if self.applied.as_ref() == Some(&self.prefs) {
            return;
        }
        let previous = self.applied.replace(self.prefs.clone());
        if previous.is_none() {
            install_fonts(ctx);
        }
        if previous.as_ref().map(|p| p.theme) != Some(self.prefs.theme) {
            ctx.set_theme(match self.prefs.theme {
                Theme::Dark => egui::Theme::Dark,
                Theme::Light => egui::Theme::Light,
            });
        }
        if previous.as_ref().map(|p| p.interval_ms) != Some(self.prefs.interval_ms) {
            self.source
                .set_interval(Duration::from_millis(self.prefs.interval_ms.max(10)));
        }
    }

    /// A report of how far a command has got: shown in its console while it runs (the
    /// other commands show none).
    fn take_progress(&mut self, id: RequestId, progress: Progress) {
        if let Some(Pending::Console { app, .. }) = self.pending.get(&id)
            && let Some(console) = self.consoles.get_mut(app)
        {
            console.progress(id, progress);
        }
    }

    fn take_reply(&mut self, id: RequestId, reply: Result<Reply, CommandError>) {
        match (self.pending.remove(&id), reply) {
            (Some(Pending::State(pid)), Ok(Reply::State { rows, .. })) => {
                if let Some(window) = self.windows.open.get_mut(&pid) {
                    window.state = Some(Ok(rows));
                }
            }
            (Some(Pending::State(pid)), Err(error)) => {
                if let Some(window) = self.windows.open.get_mut(&pid) {
                    window.state = Some(Err(error.to_string()));
                }
            }
            (Some(Pending::Console { app, what }), reply) => {
                let console = self.consoles.entry(app).or_default();
                let running = console.finished(id);
                let reported = running.as_ref().and_then(|running| {
                    let progress = running.progress.as_ref()?;
                    Some((progress, running.started.elapsed()))
                });
                let has_reported = reported.is_some();
                let text = console_text(&what, &reply, reported);
                if has_reported {
                    console.record_ended(reply.is_ok(), text.clone());
                } else {
                    console.record(reply.is_ok(), text.clone());
                }
                // A long command's end is worth a notice: the user may have looked away.
                if has_reported || !matches!(reply, Ok(Reply::Done)) {
                    self.state.notice(text);
                }
            }
            (Some(Pending::Children(pid)), reply) => {
                if let Some(list) = self.state.child_lists.get_mut(&pid) {
                    list.children = Some(match reply {
                        Ok(Reply::Children { children, .. }) => Ok(children),
                        Ok(other) => Err(format!("unexpected reply {other:?}")),
                        Err(error) => Err(error.to_string()),
                    });
                }
            }
            (Some(Pending::Other(what)), Ok(Reply::Value { value })) => {
                self.state
                    .notice(format!("{what}: {}", format::value(&value)));
            }
            (Some(Pending::Other(what)), Ok(Reply::Started { pid })) => {
                let started = pid.map_or_else(
                    || "nothing started (ignore)".to_owned(),
                    |pid| format!("started {pid}"),
                );
                self.state.notice(format!("{what}: {started}"));
            }
            (Some(Pending::Other(_)) | Some(Pending::State(_)), Ok(_)) => {}
            (Some(Pending::Other(what)), Err(error)) => {
                self.state.notice(format!("{what} failed: {error}"));
            }
            (None, _) => {}
        }
    }

    /// Draws everything.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.keyboard(ui.ctx());
        self.timeline_ui(ui);
        let capabilities = self.source.capabilities();
        let mut view = View {
            state: &self.state,
            capabilities,
            prefs: &mut self.prefs,
            commands: &mut self.commands,
        };
        let outcome = egui::Panel::top("top_bar")
            .frame(style::panel_frame(ui.style()))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    for tab in Tab::ALL {
                        if ui.selectable_label(self.tab == tab, tab.title()).clicked() {
                            view.commands.push(UiCommand::SetTab(tab));
                        }
                    }
                    ui.separator();
                    for (index, extension) in self.extensions.iter().enumerate() {
                        let is_open = self.open_extension == Some(index);
                        let title = extension.title();
                        let response = ui
                            .selectable_label(is_open, format!("☰ {title}"))
                            .on_hover_text(if is_open {
                                format!("Hide the {title} panel")
                            } else {
                                format!("Show the {title} panel beside the tree")
                            });
                        if response.clicked() {
                            self.open_extension = (!is_open).then_some(index);
                        }
                    }
                    if !self.extensions.is_empty() {
                        ui.separator();
                    }
                    let record = self.recorder.status(Instant::now());
                    self.top_bar
                        .ui(ui, &self.title, self.paused, &record, &mut view)
                })
                .inner
            })
            .inner;
        if outcome.toggle_pause {
            self.paused = !self.paused;
        }
        // A lost node: say so above everything, and grey its last data below.
        let link = self.source.link();
        if let Link::Lost { error, attempts } = &link {
            egui::Panel::top("link_lost")
                .frame(style::panel_frame(ui.style()))
                .show(ui, |ui| {
                    let text = format!(
                        "⚠ Disconnected from the node: {error}. Showing its last data; \
                         reconnecting ({attempts} {} failed)…",
                        if *attempts == 1 {
                            "attempt"
                        } else {
                            "attempts"
                        }
                    );
                    ui.label(
                        egui::RichText::new(text)
                            .strong()
                            .color(ui.visuals().error_fg_color),
                    );
                });
        }
        let lost = link != Link::Live;
        let grey = move |ui: &mut egui::Ui| {
            if lost {
                ui.disable();
                ui.set_opacity(0.45);
            }
        };
        let mut console_height = 0.0;
        let apps: Vec<_> = capabilities
            .apps
            .iter()
            .filter(|app| {
                app.commands
                    .iter()
                    .any(|command| command.on_process.is_none())
            })
            .collect();
        if capabilities.control && !apps.is_empty() && view.prefs.show_console {
            console_height = egui::Panel::bottom("console")
                .frame(style::panel_frame(ui.style()))
                .resizable(true)
                .show(ui, |ui| {
                    grey(ui);
                    for app in apps {
                        let console = self.consoles.entry(app.name.clone()).or_default();
                        console.ui(ui, app, &mut view);
                    }
                })
                .response
                .rect
                .height();
        }
        if let Some(extension) = self
            .open_extension
            .and_then(|index| self.extensions.get_mut(index))
        {
            egui::Panel::left("extension")
                .frame(style::panel_frame(ui.style()))
                .resizable(true)
                .default_size(340.0)
                .min_size(260.0)
                .show(ui, |ui| {
                    grey(ui);
                    extension.ui(ui, &mut view);
                });
        }
        egui::Panel::right("details")
            .frame(style::panel_frame(ui.style()))
            .resizable(true)
            .default_size(340.0)
            .min_size(260.0)
            .show(ui, |ui| {
                grey(ui);
                self.details.ui(ui, &mut view);
            });
        egui::CentralPanel::default()
            .frame(style::central_frame(ui.style()))
            .show(ui, |ui| {
                grey(ui);
                match self.tab {
                    Tab::Applications => self.applications.ui(ui, &mut view),
                    Tab::Processes => self.processes.ui(ui, &mut view),
                    Tab::System => self.system.ui(ui, &mut view),
                    Tab::Events => self.events.ui(ui, &mut view),
                }
            });
        self.windows.ui(ui.ctx(), &mut view);
        self.notices.ui(ui.ctx(), &self.state, console_height);
        self.dialogs.ui(ui.ctx(), &mut view);
    }

    /// The timeline under everything, for a source that has one; what the user asks of it
    /// is carried out once it is drawn.
    fn timeline_ui(&mut self, ui: &mut egui::Ui) {
        let Some(timeline) = self.source.timeline() else {
            return;
        };
        let action = egui::Panel::bottom("timeline")
            .frame(style::panel_frame(ui.style()))
            .show(ui, |ui| self.timeline.ui(ui, timeline))
            .inner;
        match action {
            Some(TimelineAction::SetPlaying(playing)) => timeline.set_playing(playing),
            Some(TimelineAction::SetSpeed(speed)) => timeline.set_speed(speed),
            Some(TimelineAction::Seek(at_ms)) => timeline.seek(at_ms),
            Some(TimelineAction::Step(forward)) => timeline.step(forward),
            None => return,
        }
        ui.ctx().request_repaint();
    }

    fn keyboard(&mut self, ctx: &egui::Context) {
        // `consume_key` reads each key event's own modifiers: Ctrl may be released within
        // the same frame as F (fast typists, scripted input).
        let find = ctx.input_mut(|input| input.consume_key(egui::Modifiers::COMMAND, egui::Key::F));
        let delete = ctx.input(|input| input.key_pressed(egui::Key::Delete));
        if find {
            // Each tab with a filter takes Ctrl+F itself; elsewhere it searches the tree.
            match self.tab {
                Tab::Processes => self.processes.focus_filter = true,
                Tab::Events => self.events.focus_filter = true,
                Tab::Applications | Tab::System => {
                    self.commands.push(UiCommand::SetTab(Tab::Applications));
                    self.applications.focus_search = true;
                }
            }
        }
        let typing = ctx.egui_wants_keyboard_input();
        if delete
            && !typing
            && self.source.capabilities().control
            && !self.dialogs.is_open()
            && let Some(pid) = self.state.selected
        {
            self.commands.push(UiCommand::ConfirmKill(pid));
        }
    }

    /// Runs the commands the frame's widgets pushed.
    pub fn run_commands(&mut self) {
        for command in std::mem::take(&mut self.commands) {
            match command {
                UiCommand::Select(pid) => self.state.selected = pid,
                UiCommand::Reveal(pid) => {
                    self.state.selected = Some(pid);
                    self.tab = Tab::Applications;
                    self.applications.reveal(pid);
                }
                UiCommand::OpenWindow(pid) => {
                    self.windows.open.entry(pid).or_default();
                    self.commands.push(UiCommand::RefreshState(pid));
                    self.run_commands();
                }
                UiCommand::CloseWindow(pid) => {
                    self.windows.open.remove(&pid);
                }
                UiCommand::RefreshState(pid) => {
                    let command = Command::GetState { pid };
                    if !self.source.capabilities().accepts(&command) {
                        if let Some(window) = self.windows.open.get_mut(&pid) {
                            let why = "this source does not give a process's state";
                            window.state = Some(Err(why.to_owned()));
                        }
                        continue;
                    }
                    let id = self.send(command);
                    self.pending.insert(id, Pending::State(pid));
                }
                UiCommand::Send(command) if !self.source.capabilities().accepts(&command) => {
                    let what = describe_command(&command, &self.state, self.source.capabilities());
                    let why = if self.source.capabilities().control {
                        "this source does not offer it"
                    } else {
                        "this source is read-only"
                    };
                    self.state.notice(format!("{what} refused: {why}"));
                }
                UiCommand::Send(command) => {
                    let what = describe_command(&command, &self.state, self.source.capabilities());
                    let console_app = match &command {
                        Command::App(app) => Some(app.app.clone()),
                        _ => None,
                    };
                    if let Command::TerminateChild { supervisor, .. }
                    | Command::RestartChild { supervisor, .. }
                    | Command::DeleteChild { supervisor, .. } = &command
                    {
                        // Its list of children changes: ask again when its menu opens.
                        self.state.child_lists.remove(supervisor);
                    }
                    let id = self.send(command);
                    let pending = match console_app {
                        Some(app) => {
                            let console = self.consoles.entry(app.clone()).or_default();
                            console.started(id, what.as_str(), Instant::now());
                            Pending::Console { app, what }
                        }
                        None => Pending::Other(what),
                    };
                    self.pending.insert(id, pending);
                }
                UiCommand::ListChildren(pid) => {
                    let previous = self.state.child_lists.remove(&pid);
                    self.state.child_lists.insert(
                        pid,
                        ChildList {
                            asked_at: Instant::now(),
                            children: previous.and_then(|list| list.children),
                        },
                    );
                    let id = self.send(Command::WhichChildren { supervisor: pid });
                    self.pending.insert(id, Pending::Children(pid));
                }
                UiCommand::AskStopReason(pid) => {
                    self.dialogs.open(Dialog::StopReason {
                        pid,
                        reason: "shutdown".to_owned(),
                    });
                }
                UiCommand::AskExitReason(pid) => {
                    self.dialogs.open(Dialog::ExitReason {
                        pid,
                        reason: String::new(),
                    });
                }
                UiCommand::ConfirmKill(pid) => self.dialogs.open(Dialog::ConfirmKill(pid)),
                UiCommand::SetTab(tab) => {
                    self.tab = tab;
                    self.prefs.tab = tab;
                }
                UiCommand::Notice(text) => self.state.notice(text),
                UiCommand::StartRecording => {
                    let header = header_info(&self.title, self.source.as_ref());
                    let current = self.state.snapshot.clone();
                    match self
                        .recorder
                        .start(Instant::now(), header, current.as_ref())
                    {
                        Ok(path) => self
                            .state
                            .notice(format!("Recording to {}", path.display())),
                        Err(error) => self
                            .state
                            .notice(format!("Cannot start recording: {error}")),
                    }
                }
                UiCommand::StopRecording => {
                    let current = self.state.snapshot.as_ref();
                    self.recorder.stop(Instant::now(), current);
                }
                UiCommand::SaveLastMinute => {
                    let header = header_info(&self.title, self.source.as_ref());
                    let current = self.state.snapshot.as_ref();
                    let saved = self.recorder.save_last_minute(
                        Instant::now(),
                        header,
                        SaveKind::LastMinute,
                        current,
                    );
                    if let Err(error) = saved {
                        self.state
                            .notice(format!("Cannot save the last minute: {error}"));
                    }
                }
            }
        }
    }

    /// Saves the preferences.
    pub fn save_preferences(&self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, PREFERENCES_KEY, &self.prefs);
    }
}

/// Lets proportional text fall back to the monospace font for the glyphs only it has (arrows
/// such as `→`), so no label shows a missing-glyph box.
fn install_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    let monospace = fonts
        .families
        .get(&egui::FontFamily::Monospace)
        .and_then(|family| family.first())
        .cloned();
    if let (Some(monospace), Some(proportional)) = (
        monospace,
        fonts.families.get_mut(&egui::FontFamily::Proportional),
    ) && !proportional.contains(&monospace)
    {
        proportional.push(monospace);
    }
    ctx.set_fonts(fonts);
}

impl eframe::App for ObserverApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        ObserverApp::logic(self, ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        ObserverApp::ui(self, ui);
        self.run_commands();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.save_preferences(storage);
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        style::clear_color(visuals)
    }
}

/// What a recording's header says of `source`, observed as `title`.
fn header_info(title: &str, source: &dyn Source) -> HeaderInfo {
    HeaderInfo {
        title: title.to_owned(),
        capabilities: source.capabilities().clone(),
    }
}

/// The console's line for the reply to `what`; for a command that reported progress
/// (`reported`: its last report and how long it ran), what it did and how long it took.
fn console_text(
    what: &str,
    reply: &Result<Reply, CommandError>,
    reported: Option<(&Progress, Duration)>,
) -> String {
    match (reply, reported) {
        // `Create 1,000,000 buckets: ok, 1,000,000 buckets created in 4.2 s`.
        (Ok(Reply::Done), Some((progress, took))) => {
            let all = format::thousands(progress.total);
            let counted = if progress.text.is_empty() {
                "done"
            } else {
                progress.text.as_str()
            };
            let took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
            format!(
                "{what}: ok, {all} {counted} in {}",
                format::duration_ms(took_ms)
            )
        }
        (Err(error), Some((progress, _))) => format!("{what} failed after {progress}: {error}"),
        (Ok(Reply::Value { value }), _) => format!("{what}: {}", format::value(value)),
        // As iex prints `KV.Registry.lookup/2`'s answer.
        (Ok(Reply::Found { pid: Some(pid) }), _) => format!("{what}: {{:ok, #PID{pid}}}"),
        (Ok(Reply::Found { pid: None }), _) => format!("{what}: :error"),
        (Ok(_), _) => format!("{what}: ok"),
        (Err(error), _) => format!("{what} failed: {error}"),
    }
}

/// How a command reads in a notice, with the processes named as the Observer knows them.
fn describe_command(
    command: &Command,
    state: &ObserverState,
    capabilities: &Capabilities,
) -> String {
    let name_of = |pid: Pid| format::label_or_pid(pid, state.process(pid));
    format::command(command, name_of, capabilities)
}

/// Prints, on stderr, the frame's number, the time, and what asked for it (the file and
/// line of each `request_repaint`; none for a frame caused by input or a window event).
fn trace_repaint(ctx: &egui::Context) {
    let causes: Vec<String> = ctx
        .repaint_causes()
        .iter()
        .map(ToString::to_string)
        .collect();
    let time_s = ctx.input(|input| input.time);
    eprintln!(
        "otpscope: frame {} at {time_s:.3} s, asked by: {}",
        ctx.cumulative_pass_nr(),
        if causes.is_empty() {
            "input or the window".to_owned()
        } else {
            causes.join(", ")
        }
    );
}
