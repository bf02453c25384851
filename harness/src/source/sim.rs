//! Simulator scenarios: the probe child runs the circuit and streams samples; each is checked
//! as it arrives and goes on into the run's sink (none is kept), and the child is told to stop
//! at the first violation.

use super::probe::{self, Message, Request};
use super::supervise::{Exit, Root, Supervised};
use super::{Event, RunConfig, RunOutput};
use crate::errors::RunError;
use crate::measure::invariant::Checker;
use crate::scenario::{Scenario, SimRun};
use crate::spec::metric::{Total, RSS_PEAK, TRANSACTIONS};
use crate::timeline::SampleSink;
use crate::{Timeline, XUnit};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

pub(crate) fn run_sim(
    scenario: &Scenario,
    s: &SimRun,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
    sink: &mut dyn SampleSink,
) -> Result<RunOutput, RunError> {
    let request_json =
        serde_json::to_string(&request_of(s)).map_err(|e| RunError::Protocol(e.to_string()))?;
    let mut cmd = Command::new(&cfg.probe_program);
    cmd.arg(probe::PROBE_ARG)
        .arg(request_json)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let (sup, mut child) = Supervised::spawn(cmd, scenario.budget.into(), Root::Measured)?;
    let acks = child
        .stdin
        .take()
        .ok_or_else(|| RunError::Protocol("no stdin".into()))?;
    let out = child
        .stdout
        .take()
        .ok_or_else(|| RunError::Protocol("no stdout".into()))?;
    let mut checker = Checker::new(scenario, s.cycles, &[]);
    let mut followed = follow(s, &sup, &mut checker, out, acks, on_event, sink);
    let exit = sup.wait();
    followed.timeline.totals.insert(
        Total::metric(&RSS_PEAK),
        followed
            .child_peak_rss
            .unwrap_or(exit.peak_rss_polled)
            .max(exit.peak_rss_polled),
    );
    let outcomes = checker.outcomes();
    verdict(followed, exit, outcomes)
}

/// The probe's request for a scenario's simulation.
fn request_of(s: &SimRun) -> Request {
    Request {
        circuit: s.circuit.clone(),
        params: s
            .params
            .iter()
            .map(|(k, v)| {
                let j = match v {
                    sim::circuits::ParamValue::Int(i) => serde_json::Value::from(*i),
                    sim::circuits::ParamValue::Str(t) => serde_json::Value::from(t.clone()),
                };
                (k.clone(), j)
            })
            .collect(),
        cycles: s.cycles,
        sample_every: s.sample_every,
    }
}

/// What the probe's stream said.
struct Followed {
    /// The run's profile: its facts and totals; its samples went to the sink.
    timeline: Timeline,
    /// How many samples went to the sink.
    samples: usize,
    stopped_at: Option<u64>,
    /// Transactions, mismatches and the first mismatch, from `Done`.
    done: Option<(u64, u64, Option<String>)>,
    protocol_error: Option<String>,
    child_peak_rss: Option<u64>,
}

/// Reads the probe's samples, checking each, handing it to `sink` and answering go-ahead or
/// stop.
fn follow(
    s: &SimRun,
    sup: &Supervised,
    checker: &mut Checker<'_>,
    out: std::process::ChildStdout,
    mut acks: std::process::ChildStdin,
    on_event: &mut dyn FnMut(Event),
    sink: &mut dyn SampleSink,
) -> Followed {
    sink.begin(XUnit::Cycles);
    let mut f = Followed {
        timeline: Timeline::new(format!("sim:{}", s.circuit), XUnit::Cycles),
        samples: 0,
        stopped_at: None,
        done: None,
        protocol_error: None,
        child_peak_rss: None,
    };
    f.timeline.facts.insert("circuit".into(), s.circuit.clone());
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        match probe::parse_line(&line) {
            Ok(Message::Sample(sample)) => {
                on_event(Event::Sample {
                    x: sample.x,
                    end: Some(s.cycles),
                });
                let violated = checker.check(&sample).is_some();
                let x = sample.x;
                sink.sample(&sample);
                f.samples += 1;
                // Stop at the first violation: the child reads this before its next sample and
                // answers with its peak RSS. The watchdog still bounds the wait.
                let answer: &[u8] = if violated && f.stopped_at.is_none() {
                    b"s"
                } else {
                    b"c"
                };
                if violated {
                    f.stopped_at.get_or_insert(x);
                }
                if acks.write_all(answer).and_then(|_| acks.flush()).is_err() {
                    break;
                }
            }
            Ok(Message::Done {
                transactions,
                mismatches,
                first_mismatch,
                peak_rss,
            }) => {
                f.done = Some((transactions, mismatches, first_mismatch));
                f.child_peak_rss = peak_rss;
            }
            Ok(Message::Stopped { cycle, peak_rss }) => {
                f.child_peak_rss = peak_rss;
                f.timeline
                    .facts
                    .insert("stopped_at_cycle".into(), cycle.to_string());
            }
            Err(e) => {
                f.protocol_error = Some(e);
                sup.kill();
                break;
            }
        }
    }
    f
}

/// The run's output, or why it failed: killed, a protocol error, a crash, an early end, or a
/// scoreboard mismatch. A failure's timeline has no samples: they are in the sink already.
fn verdict(
    f: Followed,
    exit: Exit,
    outcomes: Vec<(String, crate::measure::invariant::Outcome)>,
) -> Result<RunOutput, RunError> {
    let Followed {
        mut timeline,
        samples,
        stopped_at,
        done,
        protocol_error,
        ..
    } = f;
    let fail = |what: String, timeline: Timeline| RunError::Child {
        what,
        status: exit.status.clone(),
        figures: String::new(),
        stderr_tail: exit.stderr.clone(),
        timeline: Box::new(timeline),
    };
    if stopped_at.is_none() {
        let what = if let Some(k) = exit.killed.clone() {
            Some(k)
        } else if let Some(e) = protocol_error {
            Some(format!("probe protocol error: {e}"))
        } else if !exit.success {
            Some("the probe child failed".to_owned())
        } else if done.is_none() {
            Some("the probe child ended before finishing the run".to_owned())
        } else {
            None
        };
        if let Some(what) = what {
            return Err(fail(what, timeline));
        }
    }
    if let Some((transactions, mismatches, first)) = done {
        timeline
            .totals
            .insert(Total::Fact(&TRANSACTIONS), transactions);
        if mismatches > 0 {
            return Err(fail(
                format!(
                    "the circuit's scoreboard found {mismatches} mismatch(es) in {transactions} transactions; first: {}",
                    first.unwrap_or_default()
                ),
                timeline,
            ));
        }
    }
    Ok(RunOutput {
        samples,
        profile: timeline,
        outcomes,
        stopped_at,
        toolchain: std::collections::BTreeMap::new(),
    })
}
