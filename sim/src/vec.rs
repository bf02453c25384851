//! Fixed-size vector operations used by circuits (Clash's `Vec n a`), on Rust arrays `[T; N]`.
//!
//! Arrays are plain values (no heap), so these are strict and single-pass: `unzip` walks the
//! input once and keeps nothing of it, `iterate` shares each element with the next. The lazy
//! variants that leak live where the leak knobs use them (`Lazy` in the interconnect,
//! [`crate::lazy::Unshared`] in the master).

/// Applies `f` to every element.
pub fn map<A, B, const N: usize>(v: &[A; N], f: impl Fn(&A) -> B) -> [B; N] {
    std::array::from_fn(|i| f(&v[i]))
}

/// Pairs two vectors element-wise.
pub fn zip<A: Clone, B: Clone, const N: usize>(a: &[A; N], b: &[B; N]) -> [(A, B); N] {
    std::array::from_fn(|i| (a[i].clone(), b[i].clone()))
}

/// Splits a vector of pairs in one pass (the investigation's fix for culprit 1).
pub fn unzip<A, B, const N: usize>(v: [(A, B); N]) -> ([A; N], [B; N]) {
    let mut a: [Option<A>; N] = std::array::from_fn(|_| None);
    let mut b: [Option<B>; N] = std::array::from_fn(|_| None);
    for (i, (x, y)) in v.into_iter().enumerate() {
        a[i] = Some(x);
        b[i] = Some(y);
    }
    // Every index was filled exactly once above.
    (a.map(|x| x.expect("filled")), b.map(|y| y.expect("filled")))
}

/// `[a, f(a), f(f(a)), …]`, each element computed once from the previous (shared, strict).
pub fn iterate<T: Clone, const N: usize>(f: impl Fn(&T) -> T, a: T) -> [T; N] {
    let mut cur = a;
    std::array::from_fn(|_| {
        let next = f(&cur);
        std::mem::replace(&mut cur, next)
    })
}

/// The vector with element `i` replaced by `x`; unchanged if `i` is out of range (as Clash's
/// `replace` in simulation would be an error, callers check `i` first where it matters).
pub fn replace<T: Clone, const N: usize>(v: &[T; N], i: usize, x: T) -> [T; N] {
    let mut out = v.clone();
    if let Some(slot) = out.get_mut(i) {
        *slot = x;
    }
    out
}

/// Element `i`, or `None` out of range.
pub fn index<T, const N: usize>(v: &[T; N], i: usize) -> Option<&T> {
    v.get(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations() {
        let v = [1u32, 2, 3];
        assert_eq!(map(&v, |x| x * 2), [2, 4, 6]);
        assert_eq!(zip(&v, &['a', 'b', 'c']), [(1, 'a'), (2, 'b'), (3, 'c')]);
        assert_eq!(unzip([(1, 'a'), (2, 'b')]), ([1, 2], ['a', 'b']));
        assert_eq!(iterate::<u32, 4>(|x| x * 3, 1), [1, 3, 9, 27]);
        assert_eq!(replace(&v, 1, 9), [1, 9, 3]);
        assert_eq!(replace(&v, 7, 9), v);
        assert_eq!(index(&v, 2), Some(&3));
        assert_eq!(index(&v, 3), None);
    }
}
