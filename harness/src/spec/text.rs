//! The text rules every stage shares: glob matching of labels, "did you mean" ordering, and
//! line and column of a byte offset.

/// Whether `label` matches `glob`, where `*` matches any run of characters.
pub fn glob_match(glob: &str, label: &str) -> bool {
    // Iterative matcher with single backtrack point: linear enough for labels, no allocation.
    let (g, l) = (glob.as_bytes(), label.as_bytes());
    let (mut gi, mut li) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while li < l.len() {
        if gi < g.len() && g[gi] != b'*' && g[gi] == l[li] {
            gi += 1;
            li += 1;
        } else if gi < g.len() && g[gi] == b'*' {
            star = Some(gi);
            mark = li;
            gi += 1;
        } else if let Some(s) = star {
            gi = s + 1;
            mark += 1;
            li = mark;
        } else {
            return false;
        }
    }
    while gi < g.len() && g[gi] == b'*' {
        gi += 1;
    }
    gi == g.len()
}

/// The candidates ordered by edit distance to `target`, nearest first (ties by name).
pub fn nearest_first<'c>(
    target: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Vec<&'c str> {
    let mut v: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (edit_distance(target, c), c))
        .collect();
    v.sort();
    v.dedup();
    v.into_iter().map(|(_, c)| c).collect()
}

/// Levenshtein distance over characters, in O(|a|·|b|) time and O(|b|) space.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diag
            } else {
                1 + diag.min(above).min(row[j])
            };
            diag = above;
        }
    }
    row[b.len()]
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("Signal<*>::Cons", "Signal<WishboneS2M>::Cons"));
        assert!(!glob_match("Signal<*>::Cons", "Signal<WishboneS2M>::Thunk"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*:-", "clash-prelude:Clash.Signal.Internal.:-"));
        assert!(!glob_match("a*b*c", "abca"));
    }

    #[test]
    fn nearest_names_first() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            nearest_first("ghcc", ["clash", "ghc", "cc"]),
            ["ghc", "cc", "clash"]
        );
    }
}
