//! [`Signal`]: the infinite, lazily evaluated, shared stream of a wire's per-cycle values.
//!
//! A signal is a pointer to a node that is either a *thunk* (a closure that, when forced,
//! computes this cycle's value and the rest of the stream) or a *cons* cell (value, rest), like
//! Clash's `data Signal a = a :- Signal a`. Each node is one allocation (`Rc` of a struct that
//! holds the closure inline); forcing replaces the closure by the cell in place, dropping what
//! the closure captured. Laziness is what lets feedback be written declaratively (see
//! [`feedback`]).
//!
//! Memory rules, and why they hold:
//! - A consumer that only walks forward keeps memory bounded: a cell references only the next
//!   cell, and a forced cell no longer references its inputs.
//! - Whoever holds a signal holds every cell from there on that has been forced: a lagging
//!   reader retains the stream (the mechanism of the leak knobs, made visible by the census).
//! - Unreachable nodes are freed at once (`Rc`); dropping a chain of millions of cells is
//!   iterative, not recursive, so it cannot overflow the stack.
//! - There are no `Rc` cycles: a feedback loop is tied through [`Feedback`], whose proxy cells
//!   hold only a `Weak` reference to the loop, so dropping the [`Feedback`] frees it.

use std::cell::{RefCell, UnsafeCell};
use std::rc::{Rc, Weak};

use crate::census::{self, SlotPair, Tag};

/// An infinite stream of per-cycle values, evaluated lazily and shared. Cloning is cheap (a
/// pointer copy) and shares the cells.
pub struct Signal<T: 'static>(Rc<dyn Node<T>>);

impl<T: 'static> Clone for Signal<T> {
    fn clone(&self) -> Self {
        Signal(self.0.clone())
    }
}

impl<T: 'static> std::fmt::Debug for Signal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signal<")?;
        f.write_str(&census::type_label::<T>())?;
        f.write_str(">")
    }
}

/// The behaviour shared by the node kinds (lazy cells, constants).
trait Node<T: 'static> {
    /// This cycle's value, forcing the node if needed.
    fn head(&self) -> &T;
    /// The rest of the stream, forcing the node if needed.
    fn tail(&self) -> Signal<T>;
    /// Takes the tail out of a forced node, for the iterative drop; `None` for thunks.
    fn take_tail(&self) -> Option<Signal<T>>;
}

enum State<T: 'static, F> {
    Thunk(F),
    Forcing,
    Cons(T, Signal<T>),
}

struct LazyCell<T: 'static, F> {
    tag: Tag,
    cons_slot: u32,
    state: UnsafeCell<State<T, F>>,
}

/// Allocation size of one node with state `State<T, F>`: the `Rc` header (two counts) plus the
/// node itself.
fn node_bytes<N>() -> usize {
    std::mem::size_of::<N>() + 2 * std::mem::size_of::<usize>()
}

impl<T: 'static, F: FnOnce() -> (T, Signal<T>)> LazyCell<T, F> {
    #[inline]
    fn forced(&self) -> (&T, &Signal<T>) {
        // SAFETY: the state is only mutated here and in `take_tail`. No reference into the state
        // is held across the call to the thunk (it is moved out first), and a cons cell never
        // changes again except through `take_tail`, which runs only when the node is uniquely
        // owned and about to be dropped, so the returned references stay valid while `&self` is.
        unsafe {
            if let State::Cons(v, t) = &*self.state.get() {
                return (v, t);
            }
            match std::mem::replace(&mut *self.state.get(), State::Forcing) {
                State::Thunk(f) => {
                    let (v, t) = f();
                    *self.state.get() = State::Cons(v, t);
                    self.tag.moved(self.cons_slot);
                }
                State::Forcing => panic!(
                    "combinational loop: a signal's value depends on itself within one cycle \
                     (put a register or a Moore machine in the loop)"
                ),
                State::Cons(..) => unreachable!(),
            }
            match &*self.state.get() {
                State::Cons(v, t) => (v, t),
                _ => unreachable!(),
            }
        }
    }
}

impl<T: 'static, F: FnOnce() -> (T, Signal<T>)> Node<T> for LazyCell<T, F> {
    #[inline]
    fn head(&self) -> &T {
        self.forced().0
    }
    #[inline]
    fn tail(&self) -> Signal<T> {
        self.forced().1.clone()
    }
    fn take_tail(&self) -> Option<Signal<T>> {
        // SAFETY: called only by the iterative drop on a uniquely owned node (see `Drop`).
        unsafe {
            if matches!(&*self.state.get(), State::Cons(..)) {
                if let State::Cons(_, t) = std::mem::replace(&mut *self.state.get(), State::Forcing)
                {
                    return Some(t);
                }
            }
        }
        None
    }
}

impl<T: 'static, F> Drop for LazyCell<T, F> {
    fn drop(&mut self) {
        // Unlink the chain iteratively: while the next cell is owned by us alone, take its tail
        // before it is dropped, so no drop recurses more than one level.
        let mut next = match std::mem::replace(self.state.get_mut(), State::Forcing) {
            State::Cons(_, t) => Some(t),
            _ => None,
        };
        while let Some(sig) = next {
            next = if Rc::strong_count(&sig.0) == 1 {
                sig.0.take_tail()
            } else {
                None
            };
        }
    }
}

/// A node whose value never changes: its tail is itself (through a `Weak`, so no cycle).
struct Const<T: 'static> {
    _tag: Tag,
    value: T,
    me: Weak<Const<T>>,
}

impl<T: 'static> Node<T> for Const<T> {
    fn head(&self) -> &T {
        &self.value
    }
    fn tail(&self) -> Signal<T> {
        // The caller holds a strong reference to us, so the upgrade succeeds.
        Signal(
            self.me
                .upgrade()
                .expect("constant signal used after being freed"),
        )
    }
    fn take_tail(&self) -> Option<Signal<T>> {
        None
    }
}

fn signal_pair<T: 'static>(op: &str) -> SlotPair {
    census::intern_pair(
        &format!("Signal<{}>", census::type_label::<T>()),
        "Thunk",
        "Cons",
        &census::site(op),
    )
}

impl<T: 'static> Signal<T> {
    /// A node that will run `f` when first forced.
    #[inline]
    fn thunk<F: FnOnce() -> (T, Signal<T>) + 'static>(slots: SlotPair, f: F) -> Signal<T> {
        let tag = Tag::born(slots.base, node_bytes::<LazyCell<T, F>>());
        Signal(Rc::new(LazyCell {
            tag,
            cons_slot: slots.base + 1,
            state: UnsafeCell::new(State::Thunk(f)),
        }))
    }

    /// A node born evaluated.
    #[inline]
    fn cons(slots: SlotPair, value: T, rest: Signal<T>) -> Signal<T> {
        type F<T> = fn() -> (T, Signal<T>);
        let tag = Tag::born(slots.base + 1, node_bytes::<LazyCell<T, F<T>>>());
        Signal(Rc::new(LazyCell::<T, F<T>> {
            tag,
            cons_slot: slots.base + 1,
            state: UnsafeCell::new(State::Cons(value, rest)),
        }))
    }

    /// The signal whose value is `value` every cycle (one node, whatever the number of cycles).
    pub fn constant(value: T) -> Signal<T> {
        let slot = census::intern_one(
            &format!("Signal<{}>::Const", census::type_label::<T>()),
            &census::site("constant"),
        );
        let tag = Tag::born(slot, node_bytes::<Const<T>>());
        Signal(Rc::new_cyclic(|me| Const {
            _tag: tag,
            value,
            me: me.clone(),
        }))
    }

    /// This cycle's value (forcing it).
    #[inline]
    pub fn head(&self) -> &T {
        self.0.head()
    }

    /// The signal from the next cycle on (forcing this cycle).
    #[inline]
    pub fn tail(&self) -> Signal<T> {
        self.0.tail()
    }

    /// Moves this handle one cycle forward, releasing the current cell if nobody else holds it.
    #[inline]
    pub fn advance(&mut self) {
        *self = self.0.tail();
    }

    /// The first `n` values.
    pub fn sample_n(&self, n: usize) -> Vec<T>
    where
        T: Clone,
    {
        self.iter().take(n).collect()
    }

    /// An endless iterator over the values, from this cycle on. It holds only its current
    /// position, so iterating alone keeps memory bounded.
    pub fn iter(&self) -> SignalIter<T> {
        SignalIter { at: self.clone() }
    }

    /// Applies `f` to each cycle's value.
    pub fn map<B: 'static>(&self, f: impl Fn(&T) -> B + Clone + 'static) -> Signal<B> {
        map_at("map", self, f)
    }

    /// Combines this signal with another, cycle by cycle.
    pub fn zip_with<B: 'static, C: 'static>(
        &self,
        other: &Signal<B>,
        f: impl Fn(&T, &B) -> C + Clone + 'static,
    ) -> Signal<C> {
        unfold(
            signal_pair::<C>("zip"),
            (self.clone(), other.clone()),
            move |(a, b)| (f(a.head(), b.head()), (a.tail(), b.tail())),
        )
    }

    /// Pairs this signal with another, cycle by cycle.
    pub fn zip<B: Clone + 'static>(&self, other: &Signal<B>) -> Signal<(T, B)>
    where
        T: Clone,
    {
        self.zip_with(other, |a, b| (a.clone(), b.clone()))
    }

    /// Delays by one cycle: `init` in cycle 0, then this signal's value of the previous cycle.
    pub fn register(&self, init: T) -> Signal<T> {
        register(init, self)
    }
}

/// [`Signal::map`] with an explicit combinator name for the census site.
pub fn map_at<A: 'static, B: 'static>(
    op: &str,
    s: &Signal<A>,
    f: impl Fn(&A) -> B + Clone + 'static,
) -> Signal<B> {
    unfold(signal_pair::<B>(op), s.clone(), move |s| {
        (f(s.head()), s.tail())
    })
}

/// The workhorse: a stream unfolded from a state, one lazy node per cycle. `step` is cloned
/// into each node (closures without captures cost nothing).
fn unfold<T: 'static, S: 'static, G>(slots: SlotPair, state: S, step: G) -> Signal<T>
where
    G: Fn(S) -> (T, S) + Clone + 'static,
{
    Signal::thunk(slots, move || {
        let (v, next) = step.clone()(state);
        (v, unfold(slots, next, step))
    })
}

/// An endless iterator over a signal's values (see [`Signal::iter`]).
pub struct SignalIter<T: 'static> {
    at: Signal<T>,
}

impl<T: Clone + 'static> Iterator for SignalIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        let v = self.at.head().clone();
        self.at.advance();
        Some(v)
    }
}

/// A signal of `f` applied to two signals cycle by cycle (Clash's `liftA2`).
pub fn apply2<A: 'static, B: 'static, C: 'static>(
    f: impl Fn(&A, &B) -> C + Clone + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
) -> Signal<C> {
    a.zip_with(b, f)
}

/// A signal of `f` applied to three signals cycle by cycle (Clash's `liftA3`).
pub fn apply3<A: 'static, B: 'static, C: 'static, D: 'static>(
    f: impl Fn(&A, &B, &C) -> D + Clone + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
) -> Signal<D> {
    unfold(
        signal_pair::<D>("zip3"),
        (a.clone(), b.clone(), c.clone()),
        move |(a, b, c)| {
            (
                f(a.head(), b.head(), c.head()),
                (a.tail(), b.tail(), c.tail()),
            )
        },
    )
}

/// Three signals zipped into a signal of triples.
pub fn zip3<A: Clone + 'static, B: Clone + 'static, C: Clone + 'static>(
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
) -> Signal<(A, B, C)> {
    apply3(
        |a: &A, b: &B, c: &C| (a.clone(), b.clone(), c.clone()),
        a,
        b,
        c,
    )
}

/// One-cycle delay: `init` in cycle 0, then `s` shifted by one cycle. The first cell is born
/// evaluated and points at `s` itself, so a register costs one node in total, not one per cycle.
pub fn register<T: 'static>(init: T, s: &Signal<T>) -> Signal<T> {
    Signal::cons(signal_pair::<T>("register"), init, s.clone())
}

/// A Mealy machine: each cycle, `f(state, input)` gives the next state and this cycle's output.
pub fn mealy<S: 'static, I: 'static, O: 'static>(
    f: impl Fn(S, &I) -> (S, O) + Clone + 'static,
    init: S,
    input: &Signal<I>,
) -> Signal<O> {
    unfold(
        signal_pair::<O>("mealy"),
        (init, input.clone()),
        move |(st, inp)| {
            let (st, out) = f(st, inp.head());
            (out, (st, inp.tail()))
        },
    )
}

/// A Moore machine: the output depends on the state only, so it can sit in a feedback loop;
/// the state moves on with `transition(state, input)` at each cycle's end.
pub fn moore<S: 'static, I: 'static, O: 'static>(
    transition: impl Fn(S, &I) -> S + Clone + 'static,
    output: impl Fn(&S) -> O + Clone + 'static,
    init: S,
    input: &Signal<I>,
) -> Signal<O> {
    let slots = signal_pair::<O>("moore");
    let first = output(&init);
    let out = output.clone();
    let rest = unfold(slots, (init, input.clone()), move |(st, inp)| {
        let st = transition(st, inp.head());
        let o = out(&st);
        (o, (st, inp.tail()))
    });
    Signal::cons(slots, first, rest)
}

/// A pair of signals as a signal of pairs.
pub fn bundle2<A: Clone + 'static, B: Clone + 'static>(
    a: &Signal<A>,
    b: &Signal<B>,
) -> Signal<(A, B)> {
    unfold(
        signal_pair::<(A, B)>("bundle"),
        (a.clone(), b.clone()),
        |(a, b)| ((a.head().clone(), b.head().clone()), (a.tail(), b.tail())),
    )
}

/// A signal of pairs as a pair of signals: two projections of the shared input. Both must be
/// consumed (or dropped): a projection that lags retains the input from its position on.
pub fn unbundle2<A: Clone + 'static, B: Clone + 'static>(
    s: &Signal<(A, B)>,
) -> (Signal<A>, Signal<B>) {
    (
        map_at("unbundle", s, |p: &(A, B)| p.0.clone()),
        map_at("unbundle", s, |p: &(A, B)| p.1.clone()),
    )
}

/// Combines a signal with a vector of signals, cycle by cycle, in one node per cycle (what
/// `zip_with(a, bundle_vec(v))` computes with two).
pub fn zip_with_vec<A: 'static, B: Clone + 'static, C: 'static, const N: usize>(
    a: &Signal<A>,
    v: &[Signal<B>; N],
    f: impl Fn(&A, &[B; N]) -> C + Clone + 'static,
) -> Signal<C> {
    unfold(
        signal_pair::<C>("zip"),
        (a.clone(), v.clone()),
        move |(a, v): (Signal<A>, [Signal<B>; N])| {
            let heads: [B; N] = std::array::from_fn(|i| v[i].head().clone());
            (f(a.head(), &heads), (a.tail(), v.map(|s| s.tail())))
        },
    )
}

/// A vector of signals as a signal of vectors.
pub fn bundle_vec<T: Clone + 'static, const N: usize>(v: &[Signal<T>; N]) -> Signal<[T; N]> {
    unfold(
        signal_pair::<[T; N]>("bundle"),
        v.clone(),
        |v: [Signal<T>; N]| {
            (
                std::array::from_fn(|i| v[i].head().clone()),
                v.map(|s| s.tail()),
            )
        },
    )
}

/// A signal of vectors as a vector of signals (N projections of the shared input).
pub fn unbundle_vec<T: Clone + 'static, const N: usize>(s: &Signal<[T; N]>) -> [Signal<T>; N] {
    std::array::from_fn(|i| map_at("unbundle", s, move |v: &[T; N]| v[i].clone()))
}

/// The loose end of a feedback loop, returned by [`feedback`]. Tie it to the signal the loop
/// feeds back, and keep it alive as long as the loop runs: it owns the loop's read position.
pub struct Feedback<T: 'static> {
    cell: Rc<RefCell<Option<Signal<T>>>>,
}

/// Starts a feedback loop: returns a signal usable before its driver exists, and the
/// [`Feedback`] to tie to the driver once built.
///
/// Why not a plain `Rc` knot: a lazy loop like `xs = 0 :- map f xs` would be an `Rc` cycle
/// that never frees. Here the returned signal is a chain of proxy cells holding only a `Weak`
/// reference to the loop's read position, which the [`Feedback`] owns and advances; dropping
/// the [`Feedback`] frees everything.
pub fn feedback<T: Clone + 'static>() -> (Signal<T>, Feedback<T>) {
    let cell: Rc<RefCell<Option<Signal<T>>>> = Rc::new(RefCell::new(None));
    let weak = Rc::downgrade(&cell);
    let s = unfold(
        signal_pair::<T>("feedback"),
        weak,
        |weak: Weak<RefCell<Option<Signal<T>>>>| {
            let cell = weak
                .upgrade()
                .expect("feedback loop read after its Feedback was dropped");
            let at = cell.borrow_mut().take().expect(
                "feedback signal read before Feedback::tie, or a combinational loop through it",
            );
            let v = at.head().clone();
            *cell.borrow_mut() = Some(at.tail());
            (v, weak)
        },
    );
    (s, Feedback { cell })
}

impl<T: 'static> Feedback<T> {
    /// Ties the loop: the feedback signal reads `driver` from its cycle 0 on.
    pub fn tie(&self, driver: &Signal<T>) {
        *self.cell.borrow_mut() = Some(driver.clone());
    }
}

impl<T: 'static> std::fmt::Debug for Feedback<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Feedback")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> (Signal<u64>, Feedback<u64>) {
        let (c, fb) = feedback::<u64>();
        let out = register(0, &c.map(|x| x + 1));
        fb.tie(&out);
        (out, fb)
    }

    #[test]
    fn constant_map_zip() {
        let c = Signal::constant(3u32);
        assert_eq!(c.sample_n(3), vec![3, 3, 3]);
        let m = c.map(|x| x * 2);
        assert_eq!(m.sample_n(2), vec![6, 6]);
        let (n, _fb) = counter();
        let z = n.zip(&m);
        assert_eq!(z.sample_n(3), vec![(0, 6), (1, 6), (2, 6)]);
        let t = zip3(&n, &m, &c);
        assert_eq!(t.sample_n(2), vec![(0, 6, 3), (1, 6, 3)]);
        let a = apply2(|a: &u64, b: &u32| a + *b as u64, &n, &c);
        assert_eq!(a.sample_n(3), vec![3, 4, 5]);
    }

    #[test]
    fn register_delays_by_one_cycle() {
        let (n, _fb) = counter();
        let r = register(99, &n);
        assert_eq!(r.sample_n(4), vec![99, 0, 1, 2]);
        assert_eq!(n.register(7).sample_n(3), vec![7, 0, 1]);
    }

    #[test]
    fn feedback_counter() {
        let (n, _fb) = counter();
        assert_eq!(n.sample_n(5), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn mealy_keeps_state() {
        let (n, _fb) = counter();
        // running sum, output before update
        let sums = mealy(|acc: u64, x: &u64| (acc + x, acc), 0, &n);
        assert_eq!(sums.sample_n(5), vec![0, 0, 1, 3, 6]);
    }

    #[test]
    fn moore_output_depends_on_state_only() {
        let (n, _fb) = counter();
        let m = moore(|s: u64, x: &u64| s + x, |s: &u64| s * 10, 1, &n);
        assert_eq!(m.sample_n(4), vec![10, 10, 20, 40]);
    }

    #[test]
    fn bundles() {
        let (n, _fb) = counter();
        let (a, b) = unbundle2(&bundle2(&n, &n.map(|x| x * 2)));
        assert_eq!(a.sample_n(3), vec![0, 1, 2]);
        assert_eq!(b.sample_n(3), vec![0, 2, 4]);
        let v = bundle_vec(&[n.clone(), n.map(|x| x + 10)]);
        assert_eq!(v.sample_n(2), vec![[0, 10], [1, 11]]);
        let z = zip_with_vec(&n, &[n.clone(), n.map(|x| x * 3)], |a, v| a + v[0] + v[1]);
        assert_eq!(z.sample_n(3), vec![0, 5, 10]);
        let [p, q] = unbundle_vec(&v);
        assert_eq!(p.sample_n(2), vec![0, 1]);
        assert_eq!(q.sample_n(2), vec![10, 11]);
    }

    #[test]
    fn mutual_feedback_through_moore() {
        // a request/response loop: the "master" counts acknowledgements, the "slave" acks odd
        // requests; the response depends on the request in the same cycle.
        let (resp, fb) = feedback::<bool>();
        let req = moore(
            |s: u64, ack: &bool| if *ack { s + 1 } else { s + 2 },
            |s: &u64| *s,
            0,
            &resp,
        );
        let ack = req.map(|r| r % 2 == 1);
        fb.tie(&ack);
        assert_eq!(req.sample_n(5), vec![0, 2, 4, 6, 8]);
    }

    #[test]
    #[should_panic(expected = "combinational loop")]
    fn combinational_loop_is_reported() {
        let (s, fb) = feedback::<u32>();
        let out = s.map(|x| x + 1);
        fb.tie(&out);
        let _ = out.head();
    }

    #[test]
    fn forward_walk_is_bounded_and_census_exact() {
        let (n, fb) = counter();
        let mut it = n.iter();
        drop(n);
        for _ in 0..10_000 {
            it.next();
        }
        let live: u64 = census::snapshot().iter().map(|e| e.live).sum();
        assert!(live < 20, "live nodes {live}");
        drop(it);
        drop(fb);
        for e in census::snapshot() {
            assert_eq!(e.live, 0, "{e:?}");
        }
    }

    #[test]
    fn deep_drop_does_not_overflow() {
        let (n, fb) = counter();
        let head = n.clone();
        let mut at = n;
        for _ in 0..10_000_000 {
            at.advance();
        }
        assert_eq!(*at.head(), 10_000_000);
        let held = census::snapshot()
            .into_iter()
            .filter(|e| e.label == "Signal<u64>::Cons")
            .map(|e| e.live)
            .sum::<u64>();
        assert!(
            held >= 10_000_000,
            "the held head retains the chain: {held}"
        );
        drop(head);
        drop(at);
        drop(fb);
        for e in census::snapshot() {
            assert_eq!(e.live, 0, "{e:?}");
        }
    }
}
