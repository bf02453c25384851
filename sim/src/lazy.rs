//! Lazy values outside signals, counted by the census: [`Lazy`] (a memoised thunk, like a
//! Haskell thunk) and [`Unshared`] (a chain of pending function applications that is
//! re-evaluated from its start every time, i.e. *without sharing*).
//!
//! They exist to reproduce the space-leak mechanisms of the investigation faithfully: a lazy
//! vector projection that retains its input until forced, and `iterate` without sharing.

use std::cell::UnsafeCell;
use std::rc::Rc;

use crate::census::{self, SlotPair, Tag};

/// A value computed on first use and then kept (memoised). Until forced, it retains whatever
/// its closure captured: that is the point (see `leak = lazy_unzip`).
pub struct Lazy<T: 'static>(Rc<dyn LazyNode<T>>);

impl<T: 'static> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Lazy(self.0.clone())
    }
}

impl<T: 'static> std::fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lazy<{}>", census::type_label::<T>())
    }
}

trait LazyNode<T> {
    fn force(&self) -> &T;
    fn is_forced(&self) -> bool;
}

enum LState<T, F> {
    Thunk(F),
    Forcing,
    Value(T),
}

struct LCell<T, F> {
    tag: Tag,
    value_slot: u32,
    state: UnsafeCell<LState<T, F>>,
}

impl<T: 'static, F: FnOnce() -> T> LazyNode<T> for LCell<T, F> {
    fn force(&self) -> &T {
        // SAFETY: as for signal cells: the closure is moved out before it runs, and a value is
        // never changed afterwards.
        unsafe {
            if let LState::Value(v) = &*self.state.get() {
                return v;
            }
            match std::mem::replace(&mut *self.state.get(), LState::Forcing) {
                LState::Thunk(f) => {
                    let v = f();
                    *self.state.get() = LState::Value(v);
                    self.tag.moved(self.value_slot);
                }
                LState::Forcing => panic!("lazy value depends on itself"),
                LState::Value(_) => unreachable!(),
            }
            match &*self.state.get() {
                LState::Value(v) => v,
                _ => unreachable!(),
            }
        }
    }
    fn is_forced(&self) -> bool {
        // SAFETY: a shared read of the discriminant; no mutable reference is live here.
        unsafe { matches!(&*self.state.get(), LState::Value(_)) }
    }
}

fn lazy_pair<T: 'static>(op: &str) -> SlotPair {
    census::intern_pair(
        &format!("Lazy<{}>", census::type_label::<T>()),
        "Thunk",
        "Value",
        &census::site(op),
    )
}

impl<T: 'static> Lazy<T> {
    /// A value computed by `f` when first forced. The census site is the current component's
    /// `…/lazy`; see [`Lazy::new_at`] to name it.
    pub fn new(f: impl FnOnce() -> T + 'static) -> Lazy<T> {
        Self::with_slots(lazy_pair::<T>("lazy"), f)
    }

    /// Like [`Lazy::new`], with the combinator name `op` for the census site (`component/op`).
    pub fn new_at(op: &str, f: impl FnOnce() -> T + 'static) -> Lazy<T> {
        Self::with_slots(lazy_pair::<T>(op), f)
    }

    fn with_slots<F: FnOnce() -> T + 'static>(slots: SlotPair, f: F) -> Lazy<T> {
        let tag = Tag::born(slots.base, std::mem::size_of::<LCell<T, F>>() + 16);
        Lazy(Rc::new(LCell {
            tag,
            value_slot: slots.base + 1,
            state: UnsafeCell::new(LState::Thunk(f)),
        }))
    }

    /// An already evaluated value.
    pub fn ready(v: T) -> Lazy<T> {
        Self::with_slots(lazy_pair::<T>("lazy"), move || v).forced()
    }

    /// An already evaluated value, with the combinator name `op` for the census site.
    pub fn ready_at(op: &str, v: T) -> Lazy<T> {
        Self::new_at(op, move || v).forced()
    }

    fn forced(self) -> Self {
        self.0.force();
        self
    }

    /// The value, computing it if needed.
    pub fn force(&self) -> &T {
        self.0.force()
    }

    /// Whether the value has been computed.
    pub fn is_forced(&self) -> bool {
        self.0.is_forced()
    }
}

/// `f^n(start)` as a chain of `n` pending applications of `f`, re-evaluated from `start` every
/// time it is read: nothing is shared or memoised, so reading it costs `n` applications and
/// keeps the whole chain alive. It models Clash's `iterateI` before the fix (each element
/// "independently computes f^n a").
pub struct Unshared<T: Copy + 'static> {
    last: Option<Rc<Pending>>,
    start: T,
    f: fn(T) -> T,
    slot: u32,
}

/// One pending application of `f` to the previous element of the chain.
struct Pending {
    _tag: Tag,
    prev: Option<Rc<Pending>>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        // Iterative, for chains of millions.
        let mut next = self.prev.take();
        while let Some(p) = next {
            next = match Rc::try_unwrap(p) {
                Ok(mut p) => p.prev.take(),
                Err(_) => None,
            };
        }
    }
}

impl<T: Copy + 'static> Unshared<T> {
    /// The element `start` (zero applications). Census site: `component/iterate`.
    pub fn new(f: fn(T) -> T, start: T) -> Unshared<T> {
        let slot = census::intern_one(
            &format!("Lazy<{}>::Thunk", census::type_label::<T>()),
            &census::site("iterate"),
        );
        Unshared {
            last: None,
            start,
            f,
            slot,
        }
    }

    /// The next element: one more pending application on top of this one.
    pub fn next(&self) -> Unshared<T> {
        let tag = Tag::born(self.slot, std::mem::size_of::<Pending>() + 16);
        Unshared {
            last: Some(Rc::new(Pending {
                _tag: tag,
                prev: self.last.clone(),
            })),
            start: self.start,
            f: self.f,
            slot: self.slot,
        }
    }

    /// Evaluates the element from the start of the chain (no memoisation: that is the culprit).
    pub fn eval(&self) -> T {
        let mut v = self.start;
        let mut at = self.last.as_deref();
        while let Some(p) = at {
            v = (self.f)(v);
            at = p.prev.as_deref();
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_memoises_and_releases_its_capture() {
        let held = Rc::new(5u32);
        let h = held.clone();
        let l = Lazy::new(move || *h * 2);
        assert_eq!(Rc::strong_count(&held), 2);
        assert!(!l.is_forced());
        assert_eq!(*l.force(), 10);
        assert!(l.is_forced());
        assert_eq!(Rc::strong_count(&held), 1, "forcing drops the closure");
    }

    #[test]
    fn unshared_recomputes_from_start() {
        let mut u = Unshared::new(|x: u64| x + 3, 1);
        for _ in 0..4 {
            u = u.next();
        }
        assert_eq!(u.eval(), 13);
        let mut deep = Unshared::new(|x: u64| x + 1, 0);
        for _ in 0..1_000_000 {
            deep = deep.next();
        }
        assert_eq!(deep.eval(), 1_000_000);
        drop(deep); // iterative drop
    }
}
