//! One full read of a BEAM node, in few round trips, with stock modules only:
//!
//! 1. `erlang:processes()`;
//! 2. `erlang:process_info/2` for every process, batched: one
//!    `lists:zipwith(fun erlang:process_info/2, Pids, Items)` call per [`BATCH`] processes,
//!    the batches in flight together;
//! 3. the applications (`application:which_applications/0`), each one's master
//!    (`application_controller:get_master/1`) and top supervisor
//!    (`application_master:get_child/1`), all in flight together;
//! 4. the supervision trees, a level at a time: `supervisor:which_children/1` for every
//!    supervisor of the level at once, and `sys:get_state/2` once for a supervisor not seen
//!    before (or whose children changed), for its strategy, intensity and child specs
//!    (restart type, shutdown), where the supervisor tells them.
//!
//! Processes in an application's tree hang under it: master, then the process that started
//! the top supervisor, then the supervisors' children in start order; a process that one of
//! them spawned outside any supervisor hangs under its spawner. Every other process is a
//! root, listed apart. The calls this reader makes run in processes of their own on the node
//! (`erpc:execute_call/4`); those are left out.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use erl_dist::term::{Atom, ExternalFun, List, Pid as ErlPid, Term};
use futures_util::future::join_all;

use crate::contract::{
    Pid, PidList, ProcessInfo, ProcessKind, Restart, Shutdown, Status, Strategy, VmFacts,
};

use super::BeamError;
use super::connection::Connection;
use super::terms::{self, Syntax};

/// How many processes one `process_info` call reads.
pub const BATCH: usize = 2_000;
/// How long one call of a read may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// A dynamic supervisor with this many children or more has them found from who started
/// each process instead of listed by `which_children` at every read.
const DERIVE_FROM: usize = 1_000;
/// A supervisor with more children than this keeps the child specs first read (reading its
/// state again would copy every child).
const RESPEC_LIMIT: usize = 10_000;

/// What `process_info/2` is asked of every process at every read: what can change.
pub const ITEMS: [&str; 10] = [
    "registered_name",
    "current_function",
    "status",
    "message_queue_len",
    "links",
    "monitors",
    "monitored_by",
    "trap_exit",
    "memory",
    "reductions",
];

/// What is asked besides the first time a process is read: its initial call and dictionary
/// (`$initial_call`, `$ancestors`) do not change, so they are asked once ([`Fixed`]). They
/// were a third of every answer.
pub const FIXED_ITEMS: [&str; 2] = ["initial_call", "dictionary"];

/// What does not change in a process's life, kept from its first read.
#[derive(Clone, Debug, Default)]
struct Fixed {
    initial: Option<Term>,
    dict_initial: Option<Term>,
    ancestor: Option<Pid>,
    /// The first ancestor's registered name, when proc_lib wrote a name, not a pid (it does
    /// for a registered parent: a bucket's is `KV.BucketSupervisor`).
    ancestor_name: Option<Arc<str>>,
    /// What the above give, worked out once: the label, the initial call as text, whether it
    /// runs an Agent's function, whether it is one of the calls' own processes.
    label: Arc<str>,
    initial_text: Option<Arc<str>>,
    agent: bool,
    is_call: bool,
}

impl Fixed {
    /// Works out the derived facts from the read ones.
    fn finish(mut self, syntax: Syntax) -> Self {
        let initial = self.dict_initial.as_ref().or(self.initial.as_ref());
        self.label = Arc::from(initial.and_then(label).as_deref().unwrap_or("process"));
        self.initial_text = initial
            .and_then(|initial| initial_call(initial, syntax))
            .map(Arc::from);
        self.agent = self.dict_initial.as_ref().is_some_and(|initial| {
            matches!(terms::tuple(initial), Some([_, Term::Atom(function), _]) if function.name.starts_with('-'))
        });
        self.is_call = self.dict_initial.is_none()
            && self
                .initial
                .as_ref()
                .and_then(|initial| terms::mfa(initial, Syntax::Erlang))
                .is_some_and(|mfa| mfa == "erpc:execute_call/4");
        self
    }
}

/// A supervisor as its state tells it.
#[derive(Clone, Debug)]
struct Spec {
    kind: ProcessKind,
    /// Restart type and shutdown by child id (a dynamic supervisor's by child pid).
    children: HashMap<ChildKey, (Restart, Shutdown)>,
    /// The children the specs were read with.
    pids: HashSet<Pid>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ChildKey {
    Id(Term),
    Pid(Pid),
    /// A simple_one_for_one supervisor's one template.
    Template,
}

/// A supervisor's children: known already, or its `which_children` answer.
enum Listed {
    Known(Vec<Child>),
    Answer(Term),
}

/// One child as its supervisor lists it.
#[derive(Clone, Debug)]
pub struct Child {
    /// Its id term (`undefined` under a dynamic supervisor).
    pub id: Term,
    /// Its id as text, `None` when `undefined`.
    pub id_text: Option<Arc<str>>,
    /// Its pid, if running.
    pub pid: Option<Pid>,
    /// `restarting` in `which_children`.
    pub restarting: bool,
    /// Whether it is a supervisor.
    pub supervisor: bool,
    /// Its restart type, where the supervisor's state tells it.
    pub restart: Option<Restart>,
}

/// One read of the node.
#[derive(Debug, Default)]
pub struct Reading {
    /// The processes, in no order. Restart counts and start times are the watcher's to set.
    pub processes: Vec<ProcessInfo>,
    /// What commands need to address the node's processes.
    pub addresses: Addresses,
}

/// What commands need to address the node, as of a read.
#[derive(Clone, Debug, Default)]
pub struct Addresses {
    /// The node's pid for each process.
    pub erl_pids: HashMap<Pid, ErlPid>,
    /// Each supervisor's children as it lists them, in start order.
    pub children: HashMap<Pid, Vec<Child>>,
}

/// Reads a node again and again, keeping what does not change (supervisor specs).
pub struct Reader {
    connection: Connection,
    syntax: Syntax,
    specs: HashMap<Pid, Spec>,
    /// What does not change, for each process read before.
    fixed: HashMap<Pid, Arc<Fixed>>,
}

/// One process's `process_info`.
struct Raw {
    erl: ErlPid,
    name: Option<Arc<str>>,
    current: Option<String>,
    /// Its initial call and dictionary's facts, kept from its first read.
    fixed: Arc<Fixed>,
    status: Status,
    mailbox: u64,
    links: Vec<Pid>,
    monitors: Vec<Pid>,
    monitored_by: Vec<Pid>,
    trap_exit: bool,
    memory: u64,
    reductions: u64,
}

impl Reader {
    /// A reader of the node `connection` reaches, writing terms in `syntax`.
    pub fn new(connection: Connection, syntax: Syntax) -> Self {
        Self {
            connection,
            syntax,
            specs: HashMap::new(),
            fixed: HashMap::new(),
        }
    }

    async fn call(&self, module: &str, function: &str, args: Vec<Term>) -> Result<Term, BeamError> {
        self.connection
            .call(module, function, args, CALL_TIMEOUT)
            .await
    }

    /// Reads every process and every application's tree.
    pub async fn read(&mut self) -> Result<Reading, BeamError> {
        let pids = self.call("erlang", "processes", Vec::new()).await?;
        let pids: Vec<ErlPid> = terms::list(&pids)
            .unwrap_or_default()
            .iter()
            .filter_map(|term| match term {
                Term::Pid(pid) => Some(pid.clone()),
                _ => None,
            })
            .collect();
        let (raws, trees) = tokio::join!(self.read_processes(&pids), self.read_apps());
        let raws = raws?;
        let masters = trees?;
        let erl_pids: HashMap<Pid, ErlPid> = raws
            .iter()
            .map(|raw| (terms::pid(&raw.erl), raw.erl.clone()))
            .collect();
        self.fixed = raws
            .iter()
            .map(|raw| (terms::pid(&raw.erl), raw.fixed.clone()))
            .collect();
        // Who started each process: its first ancestor, a pid or a registered name.
        let by_name: HashMap<&str, Pid> = raws
            .iter()
            .filter_map(|raw| Some((raw.name.as_deref()?, terms::pid(&raw.erl))))
            .collect();
        let spawner: HashMap<Pid, Pid> = raws
            .iter()
            .filter_map(|raw| {
                let parent = raw
                    .fixed
                    .ancestor
                    .or_else(|| by_name.get(raw.fixed.ancestor_name.as_deref()?).copied())?;
                Some((terms::pid(&raw.erl), parent))
            })
            .collect();
        let supervisors: HashSet<Pid> = raws
            .iter()
            .filter(|raw| is_supervisor(raw.fixed.dict_initial.as_ref()))
            .map(|raw| terms::pid(&raw.erl))
            .collect();
        // The applications' top supervisors, and supervisors outside any application
        // (started from a script or a shell), which head trees of their own; one inside a
        // tree is reached from it as well, and read once.
        let tops: Vec<Pid> = masters
            .iter()
            .filter_map(|(_, _, top)| *top)
            .chain(supervisors.iter().copied())
            .collect();
        let mut children = self
            .read_trees(&tops, &spawner, &supervisors, &erl_pids)
            .await?;

        let mut infos: HashMap<Pid, ProcessInfo> = raws
            .into_iter()
            .map(|raw| {
                let pid = terms::pid(&raw.erl);
                (pid, self.info(pid, raw))
            })
            .collect();

        // The trees: master, the process that started the top supervisor, the supervisors.
        let mut in_tree: HashSet<Pid> = HashSet::new();
        for (app, master, top) in &masters {
            if let Some(info) = infos.get_mut(master) {
                info.label = Arc::from(app.as_str());
                info.parent = None;
                in_tree.insert(*master);
            }
            if let Some(top) = top {
                let starter = spawner.get(top).copied();
                match starter {
                    Some(starter) if starter != *master && infos.contains_key(&starter) => {
                        if let Some(info) = infos.get_mut(&starter) {
                            info.parent = Some(*master);
                            in_tree.insert(starter);
                        }
                        if let Some(info) = infos.get_mut(top) {
                            info.parent = Some(starter);
                        }
                    }
                    _ => {
                        if let Some(info) = infos.get_mut(top) {
                            info.parent = Some(*master);
                        }
                    }
                }
                in_tree.insert(*top);
            }
        }
        in_tree.extend(children.keys().copied());
        for (supervisor, list) in &mut children {
            let spec = self.specs.get(supervisor);
            if let (Some(spec), Some(info)) = (spec, infos.get_mut(supervisor)) {
                info.kind = spec.kind.clone();
                // Elixir's `Supervisor.start_link(children, ..)` and `{DynamicSupervisor, ..}`
                // run the callback module `Supervisor.Default`: name them as they were
                // started.
                if &*info.label == "Supervisor.Default" {
                    info.label = Arc::from(match info.kind {
                        ProcessKind::DynamicSupervisor { .. } => "DynamicSupervisor",
                        _ => "Supervisor",
                    });
                }
            }
            for child in list {
                let Some(pid) = child.pid else { continue };
                let Some(info) = infos.get_mut(&pid) else {
                    continue;
                };
                info.parent = Some(*supervisor);
                info.child_id = child.id_text.clone();
                let known = spec.and_then(|spec| {
                    spec.children
                        .get(&ChildKey::Id(child.id.clone()))
                        .or_else(|| spec.children.get(&ChildKey::Pid(pid)))
                        .or_else(|| spec.children.get(&ChildKey::Template))
                });
                if let Some((restart, shutdown)) = known {
                    child.restart = Some(*restart);
                    info.restart = Some(*restart);
                    info.shutdown = Some(*shutdown);
                }
                in_tree.insert(pid);
            }
        }
        // Processes spawned from the trees' processes outside any supervisor.
        loop {
            let mut grew = false;
            for (pid, info) in infos.iter_mut() {
                if in_tree.contains(pid) {
                    continue;
                }
                if let Some(parent) = spawner.get(pid)
                    && in_tree.contains(parent)
                {
                    info.parent = Some(*parent);
                    in_tree.insert(*pid);
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        // Children lists: a supervisor's in start order, others' in pid order.
        let mut by_parent: HashMap<Pid, Vec<Pid>> = HashMap::new();
        for (pid, info) in &infos {
            if let Some(parent) = info.parent {
                by_parent.entry(parent).or_default().push(*pid);
            }
        }
        for (parent, mut kids) in by_parent {
            kids.sort();
            let dynamic = infos
                .get(&parent)
                .is_some_and(|info| matches!(info.kind, ProcessKind::DynamicSupervisor { .. }));
            // A dynamic supervisor lists its children in no order: pid order is start order.
            if let Some(list) = children.get(&parent).filter(|_| !dynamic) {
                let order: HashMap<Pid, usize> = list
                    .iter()
                    .enumerate()
                    .filter_map(|(i, child)| Some((child.pid?, i)))
                    .collect();
                kids.sort_by_key(|pid| (order.get(pid).copied().unwrap_or(usize::MAX), *pid));
            }
            if let Some(info) = infos.get_mut(&parent) {
                info.children = kids.into_iter().collect();
            }
        }
        Ok(Reading {
            processes: infos.into_values().collect(),
            addresses: Addresses { erl_pids, children },
        })
    }

    /// `process_info` of every pid, in batches in flight together.
    async fn read_processes(&self, pids: &[ErlPid]) -> Result<Vec<Raw>, BeamError> {
        let known_items = item_terms(&ITEMS);
        let all: Vec<Term> = known_items
            .iter()
            .cloned()
            .chain(item_terms(&FIXED_ITEMS))
            .collect();
        let (known, new): (Vec<ErlPid>, Vec<ErlPid>) = pids
            .iter()
            .cloned()
            .partition(|pid| self.fixed.contains_key(&terms::pid(pid)));
        let batches = known
            .chunks(BATCH)
            .map(|batch| (batch, &known_items))
            .chain(new.chunks(BATCH).map(|batch| (batch, &all)));
        let calls = batches.map(|(batch, items)| async move {
            let pids = batch.iter().cloned().map(Term::from).collect();
            let answer = self
                .call("lists", "zipwith", process_info_args(pids, items))
                .await?;
            Ok::<_, BeamError>((batch, answer))
        });
        let mut raws = Vec::with_capacity(pids.len());
        for result in join_all(calls).await {
            let (batch, answer) = result?;
            let answers = terms::list(&answer).unwrap_or_default();
            for (pid, info) in batch.iter().zip(answers) {
                if let Some(raw) = self.raw(pid, info) {
                    raws.push(raw);
                }
            }
        }
        raws.sort_by_key(|raw| terms::pid(&raw.erl));
        Ok(raws)
    }

    /// One process's answer; `None` if it had exited, or is one of the calls' processes.
    fn raw(&self, erl: &ErlPid, info: &Term) -> Option<Raw> {
        let items = terms::list(info)?;
        let mut raw = Raw {
            erl: erl.clone(),
            name: None,
            current: None,
            fixed: Arc::default(),
            status: Status::Waiting,
            mailbox: 0,
            links: Vec::new(),
            monitors: Vec::new(),
            monitored_by: Vec::new(),
            trap_exit: false,
            memory: 0,
            reductions: 0,
        };
        let known = self.fixed.get(&terms::pid(erl));
        let mut fixed = Fixed::default();
        for item in items {
            let Some([Term::Atom(key), value]) = terms::tuple(item) else {
                continue;
            };
            match key.name.as_str() {
                "registered_name" => {
                    raw.name = terms::atom(value).map(|name| Arc::from(terms::module_name(name)));
                }
                "current_function" => raw.current = terms::mfa(value, self.syntax),
                "initial_call" => fixed.initial = Some(value.clone()),
                "status" => {
                    raw.status = match terms::atom(value) {
                        Some("running" | "runnable" | "garbage_collecting") => Status::Running,
                        Some("exiting") => Status::Exiting,
                        _ => Status::Waiting,
                    }
                }
                "message_queue_len" => {
                    raw.mailbox = terms::integer(value).unwrap_or(0).max(0) as u64
                }
                "links" => raw.links = self.local_pids(value),
                "monitors" => {
                    raw.monitors = terms::list(value)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|monitor| match terms::tuple(monitor)? {
                            [Term::Atom(tag), Term::Pid(pid)]
                                if tag.name == "process" && self.is_local(pid) =>
                            {
                                Some(terms::pid(pid))
                            }
                            _ => None,
                        })
                        .collect();
                }
                "monitored_by" => raw.monitored_by = self.local_pids(value),
                "trap_exit" => raw.trap_exit = terms::atom(value) == Some("true"),
                "memory" => raw.memory = terms::integer(value).unwrap_or(0).max(0) as u64,
                "reductions" => raw.reductions = terms::integer(value).unwrap_or(0).max(0) as u64,
                "dictionary" => {
                    for entry in terms::list(value).unwrap_or_default() {
                        match terms::tuple(entry) {
                            Some([Term::Atom(key), value]) if key.name == "$initial_call" => {
                                fixed.dict_initial = Some(value.clone());
                            }
                            Some([Term::Atom(key), value]) if key.name == "$ancestors" => {
                                match terms::list(value).and_then(|ancestors| ancestors.first()) {
                                    Some(Term::Pid(pid)) => fixed.ancestor = Some(terms::pid(pid)),
                                    Some(Term::Atom(name)) => {
                                        fixed.ancestor_name =
                                            Some(Arc::from(terms::module_name(&name.name)));
                                    }
                                    _ => {}
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        raw.fixed = match known {
            Some(known) => known.clone(),
            None => Arc::new(fixed.finish(self.syntax)),
        };
        (!raw.fixed.is_call).then_some(raw)
    }

    /// Whether `pid` is a process of the observed node (a link or monitor may be another
    /// node's: this client's own monitors among them, which the contract cannot name).
    fn is_local(&self, pid: &ErlPid) -> bool {
        pid.node.name == self.connection.node()
    }

    /// The node's own pids in a list term.
    fn local_pids(&self, term: &Term) -> Vec<Pid> {
        terms::list(term)
            .unwrap_or_default()
            .iter()
            .filter_map(|term| match term {
                Term::Pid(pid) if self.is_local(pid) => Some(terms::pid(pid)),
                _ => None,
            })
            .collect()
    }

    /// A process as the contract has it, before the trees place it.
    fn info(&self, pid: Pid, raw: Raw) -> ProcessInfo {
        let fixed = raw.fixed.clone();
        let gen_server = raw.current.as_deref().is_some_and(|current| {
            current.starts_with("gen_server") || current.starts_with(":gen_server")
        });
        let kind = match (gen_server, fixed.agent) {
            (true, true) => ProcessKind::Agent,
            (true, false) => ProcessKind::Server,
            _ => ProcessKind::Plain,
        };
        let mut info = ProcessInfo::new(pid, kind, fixed.label.clone());
        info.name = raw.name;
        info.parent = None;
        info.status = raw.status;
        info.trap_exit = raw.trap_exit;
        info.links = sorted(raw.links);
        info.monitors = raw.monitors.into_iter().collect();
        info.monitored_by = sorted(raw.monitored_by);
        info.mailbox_len = raw.mailbox;
        info.vm = Some(Arc::new(VmFacts {
            memory_bytes: raw.memory,
            reductions: raw.reductions,
            current_function: raw.current.map(Arc::from),
            initial_call: fixed.initial_text.clone(),
        }));
        info
    }

    /// Each running application's name, master and top supervisor.
    async fn read_apps(&self) -> Result<Vec<(String, Pid, Option<Pid>)>, BeamError> {
        let apps = self
            .call("application", "which_applications", Vec::new())
            .await?;
        let names: Vec<String> = terms::list(&apps)
            .unwrap_or_default()
            .iter()
            .filter_map(|app| terms::tuple(app)?.first().and_then(terms::atom))
            .map(str::to_owned)
            .collect();
        let masters = join_all(names.iter().map(|name| {
            self.call(
                "application_controller",
                "get_master",
                vec![Atom::from(name.as_str()).into()],
            )
        }))
        .await;
        let masters: Vec<(String, ErlPid)> = names
            .into_iter()
            .zip(masters)
            .filter_map(|(name, master)| match master {
                Ok(Term::Pid(pid)) => Some((name, pid)),
                _ => None,
            })
            .collect();
        let tops = join_all(masters.iter().map(|(_, master)| {
            self.call(
                "application_master",
                "get_child",
                vec![master.clone().into()],
            )
        }))
        .await;
        let mut result: Vec<(String, Pid, Option<Pid>)> = masters
            .into_iter()
            .zip(tops)
            .map(|((name, master), top)| {
                let top = match top.as_ref().ok().and_then(terms::tuple) {
                    Some([Term::Pid(pid), _]) => Some(terms::pid(pid)),
                    _ => None,
                };
                (name, terms::pid(&master), top)
            })
            .collect();
        result.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(result)
    }

    /// The supervision trees under `tops`, a level at a time, among the processes of this
    /// read (`erl_pids`).
    async fn read_trees(
        &mut self,
        tops: &[Pid],
        spawner: &HashMap<Pid, Pid>,
        supervisors: &HashSet<Pid>,
        erl_pids: &HashMap<Pid, ErlPid>,
    ) -> Result<HashMap<Pid, Vec<Child>>, BeamError> {
        // A big dynamic supervisor's children are the processes it started (their first
        // ancestor): no `which_children` listing them all at each read (it was the trees'
        // cost at 100,000 buckets). Its children have no ids, so nothing else is lost.
        let mut started_by: HashMap<Pid, Vec<Pid>> = HashMap::new();
        for (child, parent) in spawner {
            started_by.entry(*parent).or_default().push(*child);
        }
        let derived = |supervisor: Pid, specs: &HashMap<Pid, Spec>| -> Option<Vec<Child>> {
            let dynamic = specs
                .get(&supervisor)
                .is_some_and(|spec| matches!(spec.kind, ProcessKind::DynamicSupervisor { .. }));
            let kids = started_by.get(&supervisor)?;
            (dynamic && kids.len() >= DERIVE_FROM).then(|| {
                let mut kids = kids.clone();
                kids.sort();
                kids.into_iter()
                    .map(|pid| Child {
                        id: Atom::from("undefined").into(),
                        id_text: None,
                        pid: Some(pid),
                        restarting: false,
                        supervisor: supervisors.contains(&pid),
                        restart: None,
                    })
                    .collect()
            })
        };
        let mut all = HashMap::new();
        let mut level: Vec<Pid> = tops.to_vec();
        let mut seen: HashSet<Pid> = HashSet::new();
        while !level.is_empty() {
            level.retain(|pid| seen.insert(*pid) && erl_pids.contains_key(pid));
            let reader = &*self;
            let answers = join_all(level.iter().map(|supervisor| {
                let known = derived(*supervisor, &reader.specs);
                async move {
                    match known {
                        Some(children) => Ok(Listed::Known(children)),
                        None => reader
                            .call(
                                "supervisor",
                                "which_children",
                                vec![erl_pid(erl_pids, *supervisor)],
                            )
                            .await
                            .map(Listed::Answer),
                    }
                }
            }))
            .await;
            let mut next = Vec::new();
            let mut respec = Vec::new();
            for (supervisor, answer) in level.iter().zip(answers) {
                let answer = match answer {
                    Ok(answer) => answer,
                    // The node is gone: the read fails whole, rather than give a tree with
                    // the rest of its processes missing their parents.
                    Err(error @ BeamError::Disconnected(_)) => return Err(error),
                    // A supervisor that died or is not one (a top process that is a worker).
                    Err(_) => continue,
                };
                let children = match answer {
                    Listed::Known(children) => children,
                    Listed::Answer(answer) => children_of(&answer, self.syntax),
                };
                next.extend(
                    children
                        .iter()
                        .filter(|child| child.supervisor)
                        .filter_map(|child| child.pid),
                );
                let pids: HashSet<Pid> = children.iter().filter_map(|child| child.pid).collect();
                let stale = match self.specs.get(supervisor) {
                    None => true,
                    Some(spec) => spec.pids != pids && pids.len() <= RESPEC_LIMIT,
                };
                if stale {
                    respec.push((*supervisor, pids));
                }
                all.insert(*supervisor, children);
            }
            let states = join_all(respec.iter().map(|(supervisor, _)| {
                self.call(
                    "sys",
                    "get_state",
                    vec![
                        erl_pid(erl_pids, *supervisor),
                        erl_dist::term::FixInteger::from(2_000).into(),
                    ],
                )
            }))
            .await;
            for ((supervisor, pids), state) in respec.into_iter().zip(states) {
                if let Ok(state) = state
                    && let Some(mut spec) = spec(&state)
                {
                    spec.pids = pids;
                    self.specs.insert(supervisor, spec);
                }
            }
            level = next;
        }
        self.specs.retain(|pid, _| all.contains_key(pid));
        Ok(all)
    }
}

/// The pid term of `pid`, a process of the read (`erl_pids`).
fn erl_pid(erl_pids: &HashMap<Pid, ErlPid>, pid: Pid) -> Term {
    erl_pids
        .get(&pid)
        .cloned()
        .map(Term::from)
        .unwrap_or_else(|| Atom::from("undefined").into())
}

/// `process_info/2` items (such as [`ITEMS`]) as the atoms a call carries.
pub fn item_terms(items: &[&str]) -> Vec<Term> {
    items.iter().map(|item| Atom::from(*item).into()).collect()
}

/// The arguments of `lists:zipwith(fun erlang:process_info/2, Pids, Items)`, the call that
/// reads `pids` (pid terms) with `items` each: how a read asks for a batch.
pub fn process_info_args(pids: Vec<Term>, items: &[Term]) -> Vec<Term> {
    let fun = ExternalFun {
        module: Atom::from("erlang"),
        function: Atom::from("process_info"),
        arity: 2,
    };
    let item_lists: Vec<Term> = pids
        .iter()
        .map(|_| List::from(items.to_vec()).into())
        .collect();
    vec![
        fun.into(),
        List::from(pids).into(),
        List::from(item_lists).into(),
    ]
}

/// `supervisor:which_children/1`'s answer, in start order (it lists the newest first), with
/// ids written in `syntax`.
pub fn children_of(answer: &Term, syntax: Syntax) -> Vec<Child> {
    let mut children: Vec<Child> = terms::list(answer)
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| {
            let [id, child, Term::Atom(kind), _modules] = terms::tuple(entry)? else {
                return None;
            };
            let id_text = match terms::atom(id) {
                Some("undefined") => None,
                Some(name) => Some(Arc::from(terms::module_name(name))),
                None => Some(Arc::from(terms::format(id, syntax))),
            };
            Some(Child {
                id: id.clone(),
                id_text,
                pid: match child {
                    Term::Pid(pid) => Some(terms::pid(pid)),
                    _ => None,
                },
                restarting: terms::atom(child) == Some("restarting"),
                supervisor: kind.name == "supervisor",
                restart: None,
            })
        })
        .collect();
    children.reverse();
    children
}

/// An initial call as text: `KV.Registry.init/1`, and a supervisor's
/// `{supervisor, Module, 1}` (proc_lib's way of naming its callback module) as
/// `:supervisor with KV.Supervisor`.
fn initial_call(initial: &Term, syntax: Syntax) -> Option<String> {
    match terms::tuple(initial)? {
        [Term::Atom(module), Term::Atom(callback), _] if module.name == "supervisor" => {
            let module = terms::format(&Term::from(module.clone()), syntax);
            let callback = terms::format(&Term::from(callback.clone()), syntax);
            Some(format!("{module} with {callback}"))
        }
        _ => terms::mfa(initial, syntax),
    }
}

/// Whether a process's `$initial_call` is a supervisor's (`{supervisor, Module, 1}`: OTP's
/// and Elixir's supervisors and dynamic supervisors all say so).
fn is_supervisor(initial: Option<&Term>) -> bool {
    matches!(
        initial.and_then(terms::tuple),
        Some([Term::Atom(module), _, _]) if module.name == "supervisor"
    )
}

/// A process's label from its initial call: the callback module for a supervisor
/// (`{supervisor, KV.Supervisor, 1}`), else the module (`KV.Registry`; an Agent's
/// function's module, `KV.Bucket`).
fn label(initial: &Term) -> Option<String> {
    let [Term::Atom(module), Term::Atom(function), _] = terms::tuple(initial)? else {
        return None;
    };
    let module = if module.name == "supervisor" {
        &function.name
    } else {
        &module.name
    };
    Some(terms::module_name(module).to_owned())
}

fn sorted(mut pids: Vec<Pid>) -> PidList {
    pids.sort();
    pids.into_iter().collect()
}

/// A supervisor's kind and child specs from its state: OTP's `#state{}` record, or
/// Elixir's `%DynamicSupervisor{}`.
fn spec(state: &Term) -> Option<Spec> {
    if let Term::Map(map) = state {
        let get = |key: &str| map.map.get(&Term::from(Atom::from(key)));
        let number = |key: &str| get(key).and_then(terms::integer).unwrap_or(0).max(0) as u32;
        let max_children = get("max_children")
            .and_then(terms::integer)
            .map(|n| n.max(0) as u64);
        let mut children = HashMap::new();
        if let Some(Term::Map(kids)) = get("children") {
            for (pid, spec) in &kids.map {
                let (Term::Pid(pid), Some(elements)) = (pid, terms::tuple(spec)) else {
                    continue;
                };
                if let [_, restart, shutdown, ..] = elements
                    && let (Some(restart), Some(shutdown)) =
                        (restart_of(restart), shutdown_of(shutdown))
                {
                    children.insert(ChildKey::Pid(terms::pid(pid)), (restart, shutdown));
                }
            }
        }
        return Some(Spec {
            kind: ProcessKind::DynamicSupervisor {
                max_restarts: number("max_restarts"),
                max_seconds: number("max_seconds"),
                max_children,
            },
            children,
            pids: HashSet::new(),
        });
    }
    let elements = terms::tuple(state)?;
    if terms::atom(elements.first()?) != Some("state") || elements.len() < 7 {
        return None;
    }
    let strategy = terms::atom(&elements[2])?;
    let intensity = terms::integer(&elements[5]).unwrap_or(0).max(0) as u32;
    let period = terms::integer(&elements[6]).unwrap_or(0).max(0) as u32;
    let mut children = HashMap::new();
    let records: Vec<&Term> = match terms::tuple(&elements[3]) {
        Some([_ids, Term::Map(db)]) => db.map.values().collect(),
        _ => terms::list(&elements[3])
            .unwrap_or_default()
            .iter()
            .collect(),
    };
    for record in records {
        let Some(fields) = terms::tuple(record) else {
            continue;
        };
        if terms::atom(fields.first()?) != Some("child") {
            continue;
        }
        // OTP 24+: {child, Pid, Id, MFA, Restart, Significant, Shutdown, Type, Modules};
        // before: no Significant.
        let (restart, shutdown) = if fields.len() >= 9 {
            (&fields[4], &fields[6])
        } else if fields.len() >= 8 {
            (&fields[4], &fields[5])
        } else {
            continue;
        };
        if let (Some(restart), Some(shutdown)) = (restart_of(restart), shutdown_of(shutdown)) {
            let key = if strategy == "simple_one_for_one" {
                ChildKey::Template
            } else {
                ChildKey::Id(fields[2].clone())
            };
            children.insert(key, (restart, shutdown));
        }
    }
    let kind = match strategy {
        "one_for_all" => ProcessKind::Supervisor {
            strategy: Strategy::OneForAll,
            max_restarts: intensity,
            max_seconds: period,
        },
        "rest_for_one" => ProcessKind::Supervisor {
            strategy: Strategy::RestForOne,
            max_restarts: intensity,
            max_seconds: period,
        },
        "simple_one_for_one" => ProcessKind::DynamicSupervisor {
            max_restarts: intensity,
            max_seconds: period,
            max_children: None,
        },
        _ => ProcessKind::Supervisor {
            strategy: Strategy::OneForOne,
            max_restarts: intensity,
            max_seconds: period,
        },
    };
    Some(Spec {
        kind,
        children,
        pids: HashSet::new(),
    })
}

fn restart_of(term: &Term) -> Option<Restart> {
    match terms::atom(term)? {
        "permanent" => Some(Restart::Permanent),
        "transient" => Some(Restart::Transient),
        "temporary" => Some(Restart::Temporary),
        _ => None,
    }
}

fn shutdown_of(term: &Term) -> Option<Shutdown> {
    match term {
        Term::Atom(atom) if atom.name == "brutal_kill" => Some(Shutdown::BrutalKill),
        Term::Atom(atom) if atom.name == "infinity" => Some(Shutdown::Infinity),
        other => terms::integer(other).map(|ms| Shutdown::TimeoutMs(ms.max(0) as u64)),
    }
}
