//! The `massif.out` reader: valgrind massif's snapshots into a [`Timeline`] with metric `heap`
//! and live bytes per allocation site.
//!
//! The format is, in valgrind's words, "deliberately easy to read … not described"; this
//! grammar is the one `ms_print` (valgrind 3.19, Perl) accepts:
//!
//! ```text
//! desc: <massif options>          one or more
//! cmd: <program and arguments>
//! time_unit: i | ms | B
//! snapshot=<n>                    then, per snapshot, in this order:
//! time=<t>
//! mem_heap_B=<useful heap bytes>
//! mem_heap_extra_B=<allocator overhead>
//! mem_stacks_B=<stack bytes>
//! heap_tree=empty | detailed | peak
//! n<children>: <bytes> <details>  a detailed tree, children after their parent, depth-first
//! ```
//!
//! `#` starts a comment anywhere on a line and blank lines are skipped. A tree's root is the
//! allocation functions (`(heap allocation functions) malloc/new/new[], …`); each node below is
//! a stack frame (`0x10918F: remember (leak.c:5)`) or the sum of frames below massif's
//! threshold (`in 3 places, all below massif's threshold (1.00%)`).
//!
//! Sites: see [`site_of`]; each site's callers, the program's frames below it in the tree
//! ([`MAX_CALLERS`] at most), go to [`Timeline::callers`]. Massif counts no objects, so a
//! site's `count` is 0 and only its bytes mean anything. Never panics: a damaged or truncated
//! file is an error with its line.

use crate::spec::metric::{Total, MASSIF_HEAP_EXTRA_PEAK};
use crate::timeline::{Sample, Timeline, TypeSample, XUnit};
use std::collections::BTreeMap;
use std::io::BufRead;

/// Why a massif file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MassifError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// A line is not what the grammar has at that point.
    #[error("line {line}: expected {expected}, found `{found}` (hint: {hint})")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// What the grammar has there.
        expected: String,
        /// The line as found (shortened).
        found: String,
        /// How to recover.
        hint: &'static str,
    },
    /// The file ends where the grammar needs more.
    #[error("line {line}: the file ends where {expected} should follow (hint: {HINT_TRUNCATED})")]
    Truncated {
        /// The line after the last one read.
        line: usize,
        /// What should have followed.
        expected: String,
    },
    /// Numbers that contradict each other: the file was altered.
    #[error("line {line}: {message} (hint: {HINT_DAMAGED})")]
    Inconsistent {
        /// 1-based line.
        line: usize,
        /// What does not add up.
        message: String,
    },
}

const HINT_TRUNCATED: &str =
    "massif writes its file when the program exits: a program killed with SIGKILL leaves none or part of one; re-run it";
const HINT_DAMAGED: &str = "the file is not as massif wrote it; re-run the program under massif";
const HINT_FORMAT: &str =
    "a massif file starts with `desc:`, `cmd:` and `time_unit:` lines; write one with `valgrind --tool=massif --massif-out-file=FILE`";

/// Whether these first bytes are a massif file's (its `desc:` header).
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(b"desc:")
}

/// Reads a whole massif file.
pub fn read_massif(reader: impl BufRead) -> Result<Timeline, MassifError> {
    let mut lines = Lines {
        inner: reader,
        line: 0,
        buf: String::new(),
    };
    let mut tl = Timeline::new("massif", XUnit::Snapshot);
    let time_unit = read_header(&mut lines, &mut tl)?;
    let mut snapshots = Snapshots {
        time_unit,
        undetailed: 0,
        best: Heaviest::default(),
    };
    let mut next = lines.next()?;
    while let Some(line) = next {
        let sample = snapshots.read(&mut lines, &line, &mut tl)?;
        tl.samples.push(sample);
        next = lines.next()?;
    }
    if tl.samples.is_empty() {
        return Err(MassifError::Truncated {
            line: lines.line + 1,
            expected: "a `snapshot=` line".into(),
        });
    }
    tl.callers = snapshots.best.callers();
    if snapshots.undetailed > 0 {
        tl.notes.push(format!(
            "{} of {} snapshots are not detailed: their allocation sites are unknown (hint: run massif with --detailed-freq=1)",
            snapshots.undetailed,
            tl.samples.len()
        ));
    }
    Ok(tl)
}

/// Reads the header (`desc:` lines, `cmd:`, `time_unit:`) into the timeline's facts and
/// returns the time unit. A step of its own because its errors carry the format's hint: a file
/// that is not massif's at all fails here, on its first lines.
fn read_header<R: BufRead>(lines: &mut Lines<R>, tl: &mut Timeline) -> Result<String, MassifError> {
    let mut desc = Vec::new();
    let mut next = lines.next()?;
    while let Some(rest) = next.as_deref().and_then(|l| l.strip_prefix("desc:")) {
        desc.push(rest.trim().to_owned());
        next = lines.next()?;
    }
    if desc.is_empty() {
        return Err(lines.syntax("a `desc:` line", next.as_deref(), HINT_FORMAT));
    }
    let cmd = match next.as_deref().and_then(|l| l.strip_prefix("cmd:")) {
        Some(c) => c.trim().to_owned(),
        None => return Err(lines.expected("a `cmd:` line", next.as_deref(), HINT_FORMAT)),
    };
    let next = lines.next()?;
    let time_unit = match next.as_deref().and_then(|l| l.strip_prefix("time_unit:")) {
        Some(t) => t.trim().to_owned(),
        None => return Err(lines.expected("a `time_unit:` line", next.as_deref(), HINT_FORMAT)),
    };
    tl.facts.insert("massif_options".into(), desc.join(" "));
    tl.facts.insert("program".into(), cmd);
    tl.facts.insert("time_unit".into(), time_unit.clone());
    Ok(time_unit)
}

/// What reading the snapshots carries from one to the next: the file's time unit, how many
/// snapshots had no tree (for the closing note) and each site's heaviest callers.
struct Snapshots {
    time_unit: String,
    undetailed: usize,
    best: Heaviest,
}

impl Snapshots {
    /// Reads one snapshot, from its `snapshot=` line (`first`) through its heap tree, into a
    /// sample; the peak snapshot and the allocator overhead's peak go to the timeline.
    fn read<R: BufRead>(
        &mut self,
        lines: &mut Lines<R>,
        first: &str,
        tl: &mut Timeline,
    ) -> Result<Sample, MassifError> {
        let n = lines.field(Some(first), "snapshot")?;
        if n != tl.samples.len() as u64 {
            return Err(MassifError::Inconsistent {
                line: lines.line,
                message: format!(
                    "snapshot {n} where snapshot {} should come next",
                    tl.samples.len()
                ),
            });
        }
        let time = lines.next_field("time")?;
        let heap = lines.next_field("mem_heap_B")?;
        let extra = lines.next_field("mem_heap_extra_B")?;
        let _stacks = lines.next_field("mem_stacks_B")?;
        let tree_line = lines.next()?;
        let kind = lines.text_field(tree_line.as_deref(), "heap_tree")?;
        let mut sample = Sample {
            x: n,
            live_bytes: heap,
            time_ns: (self.time_unit == "ms").then(|| time.saturating_mul(1_000_000)),
            ..Default::default()
        };
        match kind.as_str() {
            "empty" => self.undetailed += 1,
            "detailed" | "peak" => {
                if kind == "peak" {
                    tl.facts.insert("peak_snapshot".into(), n.to_string());
                }
                sample.types = self.read_sites(lines, n, heap)?;
            }
            other => {
                return Err(lines.syntax(
                    "`heap_tree=empty`, `detailed` or `peak`",
                    Some(&format!("heap_tree={other}")),
                    HINT_DAMAGED,
                ))
            }
        }
        tl.totals
            .entry(Total::Fact(&MASSIF_HEAP_EXTRA_PEAK))
            .and_modify(|v| *v = (*v).max(extra))
            .or_insert(extra);
        Ok(sample)
    }

    /// Reads snapshot `n`'s heap tree, checks it holds the snapshot's `heap` bytes, offers its
    /// sites' callers to the heaviest kept so far and returns its bytes by site.
    fn read_sites<R: BufRead>(
        &mut self,
        lines: &mut Lines<R>,
        n: u64,
        heap: u64,
    ) -> Result<crate::timeline::LabelMap<TypeSample>, MassifError> {
        let root = read_tree(lines)?;
        let root_bytes = root.bytes;
        if root_bytes != heap {
            return Err(MassifError::Inconsistent {
                line: lines.line,
                message: format!("the heap tree of snapshot {n} holds {root_bytes} bytes, but its mem_heap_B is {heap}"),
            });
        }
        let sites = sites_of_tree(&root);
        for (label, site) in &sites {
            self.best.offer(label, site);
        }
        Ok(sites
            .into_iter()
            .map(|(label, site)| {
                (
                    crate::timeline::Label::from(label),
                    TypeSample {
                        bytes: site.bytes,
                        ..Default::default()
                    },
                )
            })
            .collect())
    }
}

/// The allocation site a node stands for: its frame without the code address, and a shared
/// library by its file name only (`??? (in libstdc++.so.6.0.30)`), so labels do not depend on
/// load addresses or where libraries are installed.
pub fn site_label(details: &str) -> String {
    let d = details.trim();
    if d.starts_with("in ") && d.contains("below massif's threshold") {
        return BELOW_THRESHOLD.into();
    }
    let d = match d.split_once(": ") {
        Some((addr, rest)) if addr.starts_with("0x") => rest,
        _ => d,
    };
    match d.rfind(" (in ") {
        Some(i) if d.ends_with(')') => {
            let path = &d[i + 5..d.len() - 1];
            let file = path.rsplit('/').next().unwrap_or(path);
            format!("{} (in {file})", &d[..i])
        }
        _ => d.to_owned(),
    }
}

/// The function of a site label: what precedes its trailing `(file:line)` or `(in lib)`.
pub fn function_of(label: &str) -> &str {
    match label.rfind(" (") {
        Some(i) if label.ends_with(')') => &label[..i],
        _ => label,
    }
}

/// Whether a frame belongs to the allocator rather than to the program: the C allocation
/// functions, C++ `operator new`, the standard library's containers and allocators (`std::`,
/// `__gnu_cxx::`), identifiers reserved to the implementation (`__…`, `_X…`: libc and libstdc++
/// internals), and frames without a symbol (`???`).
pub fn is_allocator_frame(function: &str) -> bool {
    const EXACT: &[&str] = &[
        "malloc",
        "calloc",
        "realloc",
        "reallocarray",
        "memalign",
        "posix_memalign",
        "aligned_alloc",
        "valloc",
        "pvalloc",
        "strdup",
        "strndup",
        "__strdup",
        "__strndup",
        "???",
    ];
    const PREFIXES: &[&str] = &["operator new", "std::", "__gnu_cxx::"];
    // Identifiers the C and C++ standards reserve to the implementation (`__vfprintf_internal`,
    // `_M_realloc_insert` inlined without its class, `_IO_file_doallocate`).
    let reserved = function.starts_with("__")
        || (function.starts_with('_')
            && function[1..].starts_with(|c: char| c.is_ascii_uppercase()));
    reserved || EXACT.contains(&function) || PREFIXES.iter().any(|p| function.starts_with(p))
}

/// The source file of a site label (`stl_vector.h` of `push_back (stl_vector.h:1287)`), if the
/// frame has one.
pub fn file_of(label: &str) -> Option<&str> {
    let open = label.rfind(" (")?;
    let inner = label.get(open + 2..label.len().checked_sub(1)?)?;
    if inner.starts_with("in ") {
        return None;
    }
    let (file, _line) = inner.rsplit_once(':')?;
    Some(file.rsplit('/').next().unwrap_or(file))
}

/// Whether a source file is the C++ standard library's: frames inlined from it carry their
/// short names (`allocate (new_allocator.h:137)`, `push_back (stl_vector.h:1287)`), without
/// the `std::` that [`is_allocator_frame`] knows them by.
pub fn is_std_library_file(file: &str) -> bool {
    const FILES: &[&str] = &[
        "new_allocator.h",
        "alloc_traits.h",
        "allocator.h",
        "basic_string.h",
        "basic_string.tcc",
        "char_traits.h",
        "unique_ptr.h",
        "shared_ptr.h",
        "shared_ptr_base.h",
        "hashtable.h",
        "hashtable_policy.h",
        "move.h",
        "std_function.h",
        "ptr_traits.h",
        "new",
        "vector",
        "string",
        "memory",
        "deque",
        "map",
        "set",
        "unordered_map",
        "unordered_set",
        "functional",
    ];
    file.starts_with("stl_") || file.ends_with(".tcc") || FILES.contains(&file)
}

/// Whether a site is the allocator's or the standard library's rather than the program's:
/// [`is_allocator_frame`] by its function, or [`is_std_library_file`] by its file.
pub fn is_allocator_site(label: &str) -> bool {
    is_allocator_frame(function_of(label)) || file_of(label).is_some_and(is_std_library_file)
}

/// The site rule: bytes belong to the frame nearest the allocation that is not an allocator
/// or standard-library frame ([`is_allocator_site`]). Massif's tree already starts below `malloc`/`new`; a node
/// that is still an allocator frame (`std::vector<…>::_M_realloc_insert`) hands its bytes down
/// to its callers, and keeps what its callers do not account for (a stack cut at `--depth`).
pub fn site_of(node: &Node, out: &mut BTreeMap<String, u64>) {
    walk_sites(node, &mut |n, bytes, _| {
        *out.entry(n.label.clone()).or_default() += bytes;
    });
}

/// [`site_of`]'s rule as a walk: `found(node, bytes, whole)` for each share of bytes a node is
/// the site of, `whole` when the node is the site of all its bytes (its children are then its
/// callers), not when an allocator frame keeps what its callers do not account for (its
/// children are then sites of their own).
fn walk_sites<'a>(node: &'a Node, found: &mut impl FnMut(&'a Node, u64, bool)) {
    let descend = is_allocator_site(&node.label) && !node.children.is_empty();
    if !descend {
        found(node, node.bytes, true);
        return;
    }
    let mut below = 0u64;
    for c in &node.children {
        below = below.saturating_add(c.bytes);
        walk_sites(c, found);
    }
    let rest = node.bytes.saturating_sub(below);
    if rest > 0 {
        found(node, rest, false);
    }
}

/// One site of a heap tree: its bytes, and the nodes that are wholly it (their children are
/// its callers; a label can stand for several nodes, one per code address or allocator path).
#[derive(Default)]
struct Site<'a> {
    bytes: u64,
    nodes: Vec<&'a Node>,
}

/// The sites of a heap tree by label ([`site_of`] for each of the root's children: the root is
/// the allocation functions themselves).
fn sites_of_tree(root: &Node) -> BTreeMap<&str, Site<'_>> {
    let mut sites: BTreeMap<&str, Site<'_>> = BTreeMap::new();
    for c in &root.children {
        walk_sites(c, &mut |n, bytes, whole| {
            let site = sites.entry(n.label.as_str()).or_default();
            site.bytes = site.bytes.saturating_add(bytes);
            if whole {
                site.nodes.push(n);
            }
        });
    }
    sites
}

/// How many of a site's callers are kept: enough to tell which path of the program allocates
/// (the function that called the site, and its caller), few enough for a failure's line.
pub const MAX_CALLERS: usize = 3;

/// The label massif's aggregate nodes (`in 3 places, all below massif's threshold (1.00%)`)
/// are given: no frame, so never a caller.
pub const BELOW_THRESHOLD: &str = "(below massif's threshold)";

/// Whether a function is where the program's stack begins, below which no frame is the
/// program's: `main`'s callers in the C runtime (`__libc_start_main`, `_start`, valgrind's
/// `(below main)`), a thread's start (`start_thread`, `clone`), and an unknown frame (`???`),
/// past which the stack is not the program's own symbols.
pub fn is_stack_base(function: &str) -> bool {
    const BASES: &[&str] = &[
        "_start",
        "__libc_start_main",
        "__libc_start_call_main",
        "(below main)",
        "start_thread",
        "clone",
        "clone3",
        "???",
    ];
    BASES.contains(&function) || function.starts_with("__libc_start_main@")
}

/// What a frame is to a site's caller chain.
enum Frame {
    /// A frame of the program's: a caller.
    Program,
    /// The allocator's or the standard library's: looked through to its own callers.
    Library,
    /// Below the program's stack ([`is_stack_base`]): no caller, and none beyond.
    End,
    /// Massif's sum of frames below its threshold: several callers, none of them named.
    Aggregate,
}

fn frame_kind(label: &str) -> Frame {
    if label == BELOW_THRESHOLD {
        Frame::Aggregate
    } else if is_stack_base(function_of(label)) {
        Frame::End
    } else if is_allocator_site(label) {
        Frame::Library
    } else {
        Frame::Program
    }
}

/// The first [`MAX_CALLERS`] frames of the program's own code that called a site, nearest
/// first: at each level the callers of the nodes so far, looked through allocator and
/// standard-library frames ([`is_allocator_site`]) and grouped by label, aggregates of small
/// frames left out, the heaviest taken (equal weights: the first label); it ends at `main`,
/// at the C runtime or a thread's start ([`is_stack_base`]), or where the tree has no more.
fn callers_of<'a>(site: &[&'a Node]) -> Vec<String> {
    let mut out = Vec::new();
    let mut frontier: Vec<&'a Node> = site.to_vec();
    let at_main = |label: &str| function_of(label) == "main";
    if site.first().is_some_and(|n| at_main(&n.label)) {
        return out;
    }
    while out.len() < MAX_CALLERS {
        let mut callers: BTreeMap<&'a str, Site<'a>> = BTreeMap::new();
        let mut pending: Vec<&'a Node> = frontier.iter().flat_map(|n| &n.children).collect();
        while let Some(c) = pending.pop() {
            match frame_kind(&c.label) {
                Frame::Aggregate => {}
                Frame::Library => pending.extend(&c.children),
                Frame::Program | Frame::End => {
                    let caller = callers.entry(c.label.as_str()).or_default();
                    caller.bytes = caller.bytes.saturating_add(c.bytes);
                    caller.nodes.push(c);
                }
            }
        }
        let mut heaviest: Option<(&'a str, Site<'a>)> = None;
        for (label, caller) in callers {
            if heaviest
                .as_ref()
                .is_none_or(|(_, h)| caller.bytes > h.bytes)
            {
                heaviest = Some((label, caller));
            }
        }
        let Some((label, caller)) = heaviest else {
            break;
        };
        if matches!(frame_kind(label), Frame::End) {
            break;
        }
        out.push(label.to_owned());
        if at_main(label) {
            break;
        }
        frontier = caller.nodes;
    }
    out
}

/// Each site's callers from the detailed snapshot where it held the most bytes (of equal
/// ones, the latest): the tree where the site is biggest weighs its callers by the most
/// bytes, so the path shown is the one that made it grow, and a site freed before the end
/// (absent from the last snapshot's tree) still has callers.
#[derive(Default)]
struct Heaviest {
    /// Label → (bytes at its heaviest snapshot, its callers there).
    by_site: BTreeMap<String, (u64, Vec<String>)>,
}

impl Heaviest {
    /// A snapshot's share of a site: its callers replace those kept when it holds as many bytes
    /// or more.
    fn offer(&mut self, label: &str, site: &Site<'_>) {
        if site.bytes == 0 {
            return;
        }
        if let Some((bytes, _)) = self.by_site.get(label) {
            if site.bytes < *bytes {
                return;
            }
        }
        let callers = callers_of(&site.nodes);
        self.by_site.insert(label.to_owned(), (site.bytes, callers));
    }

    /// Label → callers, for the sites that have any.
    fn callers(self) -> BTreeMap<String, Vec<String>> {
        self.by_site
            .into_iter()
            .filter(|(_, (_, c))| !c.is_empty())
            .map(|(label, (_, c))| (label, c))
            .collect()
    }
}

/// One node of a heap tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its site label ([`site_label`]).
    pub label: String,
    /// Live bytes allocated below it.
    pub bytes: u64,
    /// Its callers.
    pub children: Vec<Node>,
}

/// The deepest heap tree read: massif's own limit (`--depth`, at most 200) and the root.
const MAX_DEPTH: usize = 201;

/// Reads one heap tree (its nodes depth-first, children counted by `n<k>:`) and returns its
/// root. Iterative, so a file claiming deep trees cannot overflow the stack.
fn read_tree<R: BufRead>(lines: &mut Lines<R>) -> Result<Node, MassifError> {
    // Frames under construction: (node, children still to read, line of the node).
    let mut stack: Vec<(Node, u64, usize)> = Vec::new();
    let mut root: Option<Node> = None;
    while root.is_none() {
        let line = lines.next()?;
        let Some(line) = line else {
            return Err(MassifError::Truncated {
                line: lines.line + 1,
                expected: "a heap tree node (`n<children>: <bytes> <frame>`)".into(),
            });
        };
        let (children, bytes, details) = parse_node(&line).ok_or_else(|| {
            lines.syntax(
                "a heap tree node (`n<children>: <bytes> <frame>`)",
                Some(&line),
                HINT_DAMAGED,
            )
        })?;
        let node = Node {
            label: site_label(details),
            bytes,
            children: Vec::new(),
        };
        if stack.len() > MAX_DEPTH {
            // Massif caps stacks at `--depth=200`; deeper is a damaged file, and would make
            // the recursive attribution (and the tree's drop) as deep.
            return Err(MassifError::Inconsistent {
                line: lines.line,
                message: format!("a heap tree deeper than {MAX_DEPTH} frames, and massif records at most 200 (`--depth`)"),
            });
        }
        stack.push((node, children, lines.line));
        // Close every node whose children are all read.
        while let Some((_, 0, _)) = stack.last() {
            let Some((done, _, at)) = stack.pop() else {
                break;
            };
            let below: u64 = done
                .children
                .iter()
                .map(|c| c.bytes)
                .fold(0, u64::saturating_add);
            if below > done.bytes {
                return Err(MassifError::Inconsistent {
                    line: at,
                    message: format!(
                        "a node of {} bytes has callers holding {below} bytes",
                        done.bytes
                    ),
                });
            }
            match stack.last_mut() {
                Some((parent, left, _)) => {
                    parent.children.push(done);
                    *left -= 1;
                }
                None => root = Some(done),
            }
        }
    }
    root.ok_or_else(|| MassifError::Truncated {
        line: lines.line + 1,
        expected: "a heap tree node (`n<children>: <bytes> <frame>`)".into(),
    })
}

/// `n2: 50426 (heap allocation functions) …` as (children, bytes, details).
fn parse_node(line: &str) -> Option<(u64, u64, &str)> {
    let rest = line.trim_start().strip_prefix('n')?;
    let (children, rest) = rest.split_once(':')?;
    let children: u64 = children.parse().ok()?;
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let bytes: u64 = rest[..end].parse().ok()?;
    Some((children, bytes, &rest[end..]))
}

/// Lines with comments stripped and blank ones skipped, as `ms_print` reads them.
struct Lines<R> {
    inner: R,
    line: usize,
    buf: String,
}

impl<R: BufRead> Lines<R> {
    fn next(&mut self) -> Result<Option<String>, MassifError> {
        loop {
            self.buf.clear();
            let mut bytes = Vec::new();
            if self.inner.read_until(b'\n', &mut bytes)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            let text = String::from_utf8_lossy(&bytes);
            let text = match text.find('#') {
                Some(i) => &text[..i],
                None => &text,
            };
            let text = text.trim_end();
            if !text.trim().is_empty() {
                return Ok(Some(text.to_owned()));
            }
        }
    }

    /// `name=<number>` on the next line.
    fn next_field(&mut self, name: &str) -> Result<u64, MassifError> {
        let line = self.next()?;
        self.field(line.as_deref(), name)
    }

    fn field(&self, line: Option<&str>, name: &str) -> Result<u64, MassifError> {
        let text = self.text_field(line, name)?;
        text.parse().map_err(|_| {
            self.syntax(
                &format!("`{name}=` with a non-negative integer"),
                line,
                HINT_DAMAGED,
            )
        })
    }

    fn text_field(&self, line: Option<&str>, name: &str) -> Result<String, MassifError> {
        let expected = format!("a `{name}=` line");
        let Some(l) = line else {
            return Err(MassifError::Truncated {
                line: self.line + 1,
                expected,
            });
        };
        match l
            .trim()
            .strip_prefix(name)
            .and_then(|r| r.strip_prefix('='))
        {
            Some(v) => Ok(v.trim().to_owned()),
            None => Err(self.syntax(&expected, Some(l), HINT_DAMAGED)),
        }
    }

    /// `expected` was not found: a syntax error, or truncation at the end of the file.
    fn expected(&self, expected: &str, found: Option<&str>, hint: &'static str) -> MassifError {
        match found {
            None => MassifError::Truncated {
                line: self.line + 1,
                expected: expected.to_owned(),
            },
            Some(_) => self.syntax(expected, found, hint),
        }
    }

    fn syntax(&self, expected: &str, found: Option<&str>, hint: &'static str) -> MassifError {
        let found: String = found.unwrap_or("end of file").chars().take(80).collect();
        MassifError::Syntax {
            line: self.line,
            expected: expected.to_owned(),
            found,
            hint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A massif file of these snapshots, each a heap tree as massif writes it (`n<k>: <bytes>
    /// <frame>`, one space of indent per level), its heap the root's bytes.
    fn massif(trees: &[&str]) -> String {
        let mut s = String::from("desc: --threshold=0\ncmd: ./tb\ntime_unit: B\n");
        for (n, tree) in trees.iter().enumerate() {
            let heap = parse_node(tree.lines().next().unwrap_or_default()).map_or(0, |n| n.1);
            s.push_str(&format!("#-----------\nsnapshot={n}\n#-----------\ntime={n}\nmem_heap_B={heap}\nmem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=detailed\n{tree}"));
        }
        s
    }

    /// The callers the reader finds for `site` in these snapshots.
    fn callers(trees: &[&str], site: &str) -> Vec<String> {
        let tl = read_massif(massif(trees).as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        tl.callers.get(site).cloned().unwrap_or_default()
    }

    #[test]
    fn a_site_is_called_from_its_heavier_chain() {
        let tree = "n1: 300 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
 n2: 300 0x1: Scoreboard::record (tb.cpp:40)
  n1: 100 0x2: Testbench::reset (tb.cpp:70)
   n0: 100 0x3: main (tb.cpp:110)
  n1: 200 0x4: Testbench::tick (tb.cpp:88)
   n0: 200 0x5: main (tb.cpp:120)
";
        assert_eq!(
            callers(&[tree], "Scoreboard::record (tb.cpp:40)"),
            ["Testbench::tick (tb.cpp:88)", "main (tb.cpp:120)"]
        );
    }

    #[test]
    fn allocator_and_standard_library_frames_are_looked_through() {
        // The site below `_M_realloc_insert`, reached through `std::function`: neither is a
        // caller, and the same caller by two code addresses is one, weighing both.
        let tree = "n1: 96 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
 n1: 96 0x1: std::vector<int>::_M_realloc_insert(int const&) (vector.tcc:440)
  n2: 96 0x2: log_transaction (log.cpp:9)
   n1: 48 0x3: std::_Function_handler<void (), Lambda>::_M_invoke(std::_Any_data const&) (std_function.h:290)
    n1: 48 0x4: Bus::on_write (bus.cpp:12)
     n0: 48 0x5: main (bus.cpp:30)
   n1: 40 0x6: Bus::on_read (bus.cpp:20)
    n0: 40 0x7: main (bus.cpp:31)
";
        assert_eq!(
            callers(&[tree], "log_transaction (log.cpp:9)"),
            ["Bus::on_write (bus.cpp:12)", "main (bus.cpp:30)"]
        );
    }

    #[test]
    fn aggregates_of_small_frames_are_no_callers() {
        let tree = "n1: 100 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
 n2: 100 0x1: record (tb.cpp:40)
  n0: 90 in 12 places, all below massif's threshold (1.00%)
  n0: 10 0x2: tick (tb.cpp:88)
";
        assert_eq!(callers(&[tree], "record (tb.cpp:40)"), ["tick (tb.cpp:88)"]);
    }

    #[test]
    fn callers_stop_at_three_at_main_and_at_the_c_runtime() {
        let deep = "n1: 8 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
 n1: 8 0x1: f (a.c:1)
  n1: 8 0x2: g (a.c:2)
   n1: 8 0x3: h (a.c:3)
    n1: 8 0x4: i (a.c:4)
     n0: 8 0x5: main (a.c:5)
";
        assert_eq!(
            callers(&[deep], "f (a.c:1)"),
            ["g (a.c:2)", "h (a.c:3)", "i (a.c:4)"]
        );
        let below_main = "n1: 8 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
 n1: 8 0x1: f (a.c:1)
  n1: 8 0x2: main (a.c:5)
   n1: 8 0x3: (below main) (libc_start_call_main.h:58)
    n0: 8 0x4: g (a.c:2)
";
        assert_eq!(callers(&[below_main], "f (a.c:1)"), ["main (a.c:5)"]);
        let runtime = "n1: 8 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
 n1: 8 0x1: f (a.c:1)
  n1: 8 0x2: worker (a.c:7)
   n1: 8 0x3: start_thread (pthread_create.c:442)
    n0: 8 0x4: g (a.c:2)
";
        assert_eq!(callers(&[runtime], "f (a.c:1)"), ["worker (a.c:7)"]);
        let unknown = "n1: 8 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
 n1: 8 0x1: f (a.c:1)
  n1: 8 0x2: ??? (in /usr/lib/libfoo.so)
   n0: 8 0x4: g (a.c:2)
";
        assert_eq!(callers(&[unknown], "f (a.c:1)"), Vec::<String>::new());
        let tl = read_massif(massif(&[unknown]).as_bytes()).expect("a timeline");
        assert!(tl.callers.is_empty(), "{:?}", tl.callers);
    }

    #[test]
    fn callers_come_from_the_snapshot_where_the_site_held_most() {
        let at = |bytes: u64, caller: &str| {
            format!(
                "n1: {bytes} (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
 n1: {bytes} 0x1: record (tb.cpp:40)
  n0: {bytes} 0x2: {caller}
"
            )
        };
        let (small, big, later) = (
            at(8, "reset (tb.cpp:70)"),
            at(64, "tick (tb.cpp:88)"),
            at(16, "drain (tb.cpp:99)"),
        );
        assert_eq!(
            callers(&[&small, &big, &later], "record (tb.cpp:40)"),
            ["tick (tb.cpp:88)"]
        );
        // Of equal ones, the latest.
        let same = at(64, "drain (tb.cpp:99)");
        assert_eq!(
            callers(&[&small, &big, &same], "record (tb.cpp:40)"),
            ["drain (tb.cpp:99)"]
        );
    }

    #[test]
    fn a_malformed_tree_with_callers_is_an_error_with_its_line() {
        let tree = "n1: 300 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
 n2: 300 0x1: record (tb.cpp:40)
  n1: 100 0x2: reset (tb.cpp:70)
   n0: 100 0x3: main (tb.cpp:110)
";
        // The site's second caller is missing: the file ends inside the tree.
        let e = read_massif(massif(&[tree]).as_bytes()).expect_err("truncated");
        assert!(
            e.to_string()
                .starts_with("line 16: the file ends where a heap tree node"),
            "{e}"
        );
        // Callers holding more than their site.
        let heavy = tree
            .replace("n2: 300 0x1", "n1: 300 0x1")
            .replace("n1: 100 0x2", "n1: 400 0x2")
            .replace("n0: 100 0x3", "n0: 400 0x3");
        let e = read_massif(massif(&[&heavy]).as_bytes()).expect_err("inconsistent");
        assert!(
            e.to_string()
                .contains("line 13: a node of 300 bytes has callers holding"),
            "{e}"
        );
        let garbled = tree.replace("n1: 100 0x2", "n1 100 0x2");
        let e = read_massif(massif(&[&garbled]).as_bytes()).expect_err("garbled");
        assert!(
            e.to_string()
                .starts_with("line 14: expected a heap tree node"),
            "{e}"
        );
    }

    #[test]
    fn labels_drop_addresses_and_library_paths() {
        assert_eq!(
            site_label(" 0x109186: remember (leak.c:5)"),
            "remember (leak.c:5)"
        );
        assert_eq!(
            site_label(" 0x4A3B: ??? (in /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30)"),
            "??? (in libstdc++.so.6.0.30)"
        );
        assert_eq!(
            site_label(" in 3 places, all below massif's threshold (1.00%)"),
            "(below massif's threshold)"
        );
        assert_eq!(
            function_of("std::vector<int>::push_back(int const&) (stl_vector.h:1198)"),
            "std::vector<int>::push_back(int const&)"
        );
        assert!(is_allocator_frame("operator new(unsigned long)"));
        assert!(is_allocator_site("push_back (stl_vector.h:1287)"));
        assert!(is_allocator_site("allocate (new_allocator.h:137)"));
        assert!(!is_allocator_site("log_transaction (vector.cpp:9)"));
        assert_eq!(file_of("main (src/leak.c:8)"), Some("leak.c"));
        assert_eq!(file_of("??? (in libc.so.6)"), None);
        assert!(!is_allocator_frame("remember"));
    }
}
