//! Simulator scenarios: the probe child runs the circuit and streams samples; each is checked
//! as it arrives, and the child is told to stop at the first violation.

use super::probe::{self, Message, Request};
use super::supervise::{Root, Supervised};
use super::{Event, RunConfig, RunOutput};
use crate::errors::RunError;
use crate::measure::invariant::Checker;
use crate::scenario::{Scenario, SimRun};
use crate::{Timeline, XUnit};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

pub(crate) fn run_sim(
    scenario: &Scenario,
    s: &SimRun,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
) -> Result<RunOutput, RunError> {
    let request = Request {
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
    };
    let request_json =
        serde_json::to_string(&request).map_err(|e| RunError::Protocol(e.to_string()))?;
    let mut cmd = Command::new(&cfg.probe_program);
    cmd.arg(probe::PROBE_ARG)
        .arg(request_json)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let (sup, mut child) = Supervised::spawn(cmd, scenario.budget.into(), Root::Measured)?;
    let mut acks = child
        .stdin
        .take()
        .ok_or_else(|| RunError::Protocol("no stdin".into()))?;
    let out = child
        .stdout
        .take()
        .ok_or_else(|| RunError::Protocol("no stdout".into()))?;
    let mut tl = Timeline::new(format!("sim:{}", s.circuit), XUnit::Cycles);
    tl.facts.insert("circuit".into(), s.circuit.clone());
    let mut checker = Checker::new(scenario, s.cycles, &[]);
    let mut stopped_at = None;
    let mut done = None;
    let mut protocol_error = None;
    let mut child_peak_rss = None;
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
                tl.samples.push(sample);
                // Stop at the first violation: the child reads this before its next sample and
                // answers with its peak RSS. The watchdog still bounds the wait.
                let answer: &[u8] = if violated && stopped_at.is_none() {
                    b"s"
                } else {
                    b"c"
                };
                if violated {
                    stopped_at.get_or_insert(x);
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
                done = Some((transactions, mismatches, first_mismatch));
                child_peak_rss = peak_rss;
            }
            Ok(Message::Stopped { cycle, peak_rss }) => {
                child_peak_rss = peak_rss;
                tl.facts
                    .insert("stopped_at_cycle".into(), cycle.to_string());
            }
            Err(e) => {
                protocol_error = Some(e);
                sup.kill();
                break;
            }
        }
    }
    let exit = sup.wait();
    let (status, ok, peak_rss, killed, stderr_tail) = (
        exit.status,
        exit.success,
        exit.peak_rss_polled,
        exit.killed,
        exit.stderr,
    );
    tl.totals.insert(
        "rss.peak".into(),
        child_peak_rss.unwrap_or(peak_rss).max(peak_rss),
    );
    let outcomes = checker.outcomes();
    if stopped_at.is_none() {
        let what = if let Some(k) = killed {
            Some(k)
        } else if let Some(e) = protocol_error {
            Some(format!("probe protocol error: {e}"))
        } else if !ok {
            Some("the probe child failed".to_owned())
        } else if done.is_none() {
            Some("the probe child ended before finishing the run".to_owned())
        } else {
            None
        };
        if let Some(what) = what {
            return Err(RunError::Child {
                what,
                status,
                figures: String::new(),
                stderr_tail,
                timeline: Box::new(tl),
            });
        }
    }
    if let Some((transactions, mismatches, first)) = done {
        tl.totals.insert("transactions".into(), transactions);
        if mismatches > 0 {
            return Err(RunError::Child {
                what: format!(
                    "the circuit's scoreboard found {mismatches} mismatch(es) in {transactions} transactions; first: {}",
                    first.unwrap_or_default()
                ),
                status,
                figures: String::new(),
                stderr_tail,
                timeline: Box::new(tl),
            });
        }
    }
    Ok(RunOutput {
        timeline: tl,
        outcomes,
        stopped_at,
        toolchain: BTreeMap::new(),
    })
}
