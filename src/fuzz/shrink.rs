//! Shrinking a diverging sequence, deterministically and bounded in test runs: passes of
//! single deletions until one deletes nothing ([`minimize`], what `scimock fuzz` does), and
//! Zeller's delta debugging ([`ddmin`]: chunks in order, subsets before complements). Each
//! test re-runs a candidate against the endpoint and a fresh model ([`super::Fuzzer`] does
//! that); here only the search.
//!
//! Why passes and not ddmin: a minimal sequence is a create or two at the front and the
//! diverging request at the end, 2–6 steps spread over 11–30, where ddmin's halves and
//! quarters rarely still fail. Measured on six divergences, ddmin took 8–214 runs where a
//! pass and its confirming pass took 13–35 for the same lengths (docs/fuzz.md, "Shrinking,
//! compared").

use std::future::Future;

/// The smallest sublist of `items` (order kept) for which `fails` still holds, by passes of
/// single deletions, front to back, each deletion kept when `fails` still holds, until a
/// pass deletes nothing: the result is then 1-minimal (no single item can go). At most
/// `max_runs` calls of `fails`; returns the number made. `items` itself is assumed to fail.
/// Costs the length of the input plus the length of the result per further pass.
pub async fn minimize<T, F, Fut>(items: Vec<T>, mut fails: F, max_runs: usize) -> (Vec<T>, usize)
where
    T: Clone,
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut current = items;
    let mut runs = 0;
    loop {
        let mut deleted = false;
        let mut i = 0;
        while i < current.len() && current.len() >= 2 {
            if runs >= max_runs {
                return (current, runs);
            }
            let mut candidate = current.clone();
            candidate.remove(i);
            runs += 1;
            if fails(candidate.clone()).await {
                current = candidate;
                deleted = true;
            } else {
                i += 1;
            }
        }
        if !deleted {
            return (current, runs);
        }
    }
}

/// The smallest sublist of `items` (order kept) for which `fails` still holds, found with
/// at most `max_runs` calls of `fails`; and the number of calls made. `items` itself is
/// assumed to fail. The result is 1-minimal (no single item can go) when the budget
/// allows.
pub async fn ddmin<T, F, Fut>(items: Vec<T>, mut fails: F, max_runs: usize) -> (Vec<T>, usize)
where
    T: Clone,
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut current = items;
    let mut runs = 0;
    let mut n = 2usize;
    while current.len() >= 2 && runs < max_runs {
        let chunks = split(current.len(), n);
        let mut reduced = false;
        // Subsets first: a divergence that needs only one chunk shrinks fastest.
        for range in &chunks {
            if runs >= max_runs {
                break;
            }
            let candidate: Vec<T> = current[range.clone()].to_vec();
            runs += 1;
            if fails(candidate.clone()).await {
                current = candidate;
                n = 2;
                reduced = true;
                break;
            }
        }
        if !reduced && n > 2 {
            for range in &chunks {
                if runs >= max_runs {
                    break;
                }
                let candidate: Vec<T> = current[..range.start]
                    .iter()
                    .chain(&current[range.end..])
                    .cloned()
                    .collect();
                runs += 1;
                if fails(candidate.clone()).await {
                    current = candidate;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if n >= current.len() {
                break;
            }
            n = (n * 2).min(current.len());
        }
    }
    (current, runs)
}

/// `len` items in `n` contiguous chunks of near-equal size.
fn split(len: usize, n: usize) -> Vec<std::ops::Range<usize>> {
    let n = n.clamp(1, len.max(1));
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let end = start + (len - start) / (n - i);
        out.push(start..end);
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `ddmin` (or, with `passes`, `minimize`) to its end with a synchronous test.
    fn shrink(
        items: Vec<u32>,
        f: fn(&[u32]) -> bool,
        max: usize,
        passes: bool,
    ) -> (Vec<u32>, usize) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let fails = |c: Vec<u32>| std::future::ready(f(&c));
        if passes {
            rt.block_on(minimize(items, fails, max))
        } else {
            rt.block_on(ddmin(items, fails, max))
        }
    }

    fn run(items: Vec<u32>, f: fn(&[u32]) -> bool, max: usize) -> (Vec<u32>, usize) {
        shrink(items, f, max, false)
    }

    #[test]
    fn finds_the_two_steps_that_matter_in_order() {
        let items: Vec<u32> = (0..30).collect();
        // Fails when 7 comes before 23, as a create before the read that sees its loss.
        let (min, runs) = run(items, |c| c.contains(&7) && c.contains(&23), 500);
        assert_eq!(min, vec![7, 23]);
        assert!(runs < 100, "{runs}");
    }

    #[test]
    fn a_single_culprit_and_the_run_bound() {
        let (min, _) = run((0..17).collect(), |c| c.contains(&16), 500);
        assert_eq!(min, vec![16]);
        let (min, runs) = run((0..64).collect(), |c| c.contains(&1) && c.contains(&60), 3);
        assert_eq!(runs, 3);
        assert!(min.contains(&1) && min.contains(&60));
    }

    fn passes(items: Vec<u32>, f: fn(&[u32]) -> bool, max: usize) -> (Vec<u32>, usize) {
        shrink(items, f, max, true)
    }

    #[test]
    fn passes_find_the_steps_that_matter_and_confirm_them() {
        let items: Vec<u32> = (0..30).collect();
        let (min, runs) = passes(items, |c| c.contains(&7) && c.contains(&23), 500);
        assert_eq!(min, vec![7, 23]);
        // One pass over 30, one confirming pass over 2.
        assert_eq!(runs, 32);
        let (min, runs) = passes((0..64).collect(), |c| c.contains(&1) && c.contains(&60), 3);
        assert_eq!(runs, 3);
        assert_eq!(min.len(), 62);
    }

    #[test]
    fn a_second_pass_removes_what_a_later_deletion_freed() {
        // 0 may go only once 5 has gone: one pass keeps 0, the second removes it.
        let fails = |c: &[u32]| c.contains(&9) && (c.contains(&0) || !c.contains(&5));
        let (min, runs) = passes((0..10).collect(), fails, 500);
        assert_eq!(min, vec![9]);
        assert!(runs > 10, "{runs}");
    }

    #[test]
    fn chunks_cover_everything_once() {
        for len in 1..20 {
            for n in 1..=len {
                let chunks = split(len, n);
                assert_eq!(chunks.len(), n);
                assert_eq!(chunks.iter().map(|r| r.len()).sum::<usize>(), len);
                assert!(chunks.iter().all(|r| !r.is_empty()));
            }
        }
    }
}
