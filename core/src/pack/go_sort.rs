//! Go's `sort.Slice` order, swap for swap. Karpenter sorts its NodeClaims by pod count with
//! `sort.Slice` before every pod; the sort is not stable, so among claims of equal counts the
//! order it leaves (and so which claim a pod tries first) is the one this algorithm makes and
//! no other. Go's `sort.Slice` is a pattern-defeating quicksort (insertion sort up to 12
//! elements, a median of three or a Tukey ninther as pivot, a partial insertion sort on slices
//! that look sorted, a fixed-seed shuffle after an unbalanced partition, heapsort when too many
//! partitions were unbalanced). This module makes the same comparisons and the same swaps, so a
//! slice ends in the same order as Go leaves it (checked against Go's own output in
//! `core/tests/go_sort.rs`).

/// Sorts `v` by `less` as Go's `sort.Slice(v, less)` does, leaving equal elements where Go
/// leaves them.
pub fn sort_slice<T>(v: &mut [T], less: impl FnMut(&T, &T) -> bool) {
    let n = v.len();
    Sorter { v, less }.pdqsort(0, n, bit_len(n));
}

/// The number of bits needed to write `n` (Go's `bits.Len`).
fn bit_len(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Hint {
    Unknown,
    Increasing,
    Decreasing,
}

struct Sorter<'a, T, F> {
    v: &'a mut [T],
    less: F,
}

impl<T, F: FnMut(&T, &T) -> bool> Sorter<'_, T, F> {
    fn less(&mut self, i: usize, j: usize) -> bool {
        (self.less)(&self.v[i], &self.v[j])
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.v.swap(i, j);
    }

    fn insertion_sort(&mut self, a: usize, b: usize) {
        for i in a + 1..b {
            let mut j = i;
            while j > a && self.less(j, j - 1) {
                self.swap(j, j - 1);
                j -= 1;
            }
        }
    }

    /// Restores the heap property below `root` in the heap of `v[first..first + hi]`.
    fn sift_down(&mut self, mut root: usize, hi: usize, first: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= hi {
                return;
            }
            if child + 1 < hi && self.less(first + child, first + child + 1) {
                child += 1;
            }
            if !self.less(first + root, first + child) {
                return;
            }
            self.swap(first + root, first + child);
            root = child;
        }
    }

    fn heap_sort(&mut self, a: usize, b: usize) {
        let hi = b - a;
        for i in (0..=(hi - 1) / 2).rev() {
            self.sift_down(i, hi, a);
        }
        for i in (0..hi).rev() {
            self.swap(a, a + i);
            self.sift_down(0, i, a);
        }
    }

    /// Sorts `v[a..b]`; `limit` unbalanced partitions are allowed before heapsort takes over.
    fn pdqsort(&mut self, mut a: usize, mut b: usize, mut limit: u32) {
        const MAX_INSERTION: usize = 12;
        let mut was_balanced = true;
        let mut was_partitioned = true;
        loop {
            let length = b - a;
            if length <= MAX_INSERTION {
                self.insertion_sort(a, b);
                return;
            }
            if limit == 0 {
                self.heap_sort(a, b);
                return;
            }
            if !was_balanced {
                self.break_patterns(a, b);
                limit -= 1;
            }
            let (mut pivot, mut hint) = self.choose_pivot(a, b);
            if hint == Hint::Decreasing {
                self.reverse(a, b);
                // The pivot, `pivot - a` after the start, is now as far before the end.
                pivot = (b - 1) - (pivot - a);
                hint = Hint::Increasing;
            }
            // Probably sorted already.
            if was_balanced && was_partitioned && hint == Hint::Increasing && self.partial_insertion_sort(a, b) {
                return;
            }
            // Nothing before this range is above the pivot: the range holds many equal
            // elements; the pivot's equals are done.
            if a > 0 && !self.less(a - 1, pivot) {
                a = self.partition_equal(a, b, pivot);
                continue;
            }
            let (mid, already) = self.partition(a, b, pivot);
            was_partitioned = already;
            let (left, right) = (mid - a, b - mid);
            let balance = length / 8;
            if left < right {
                was_balanced = left >= balance;
                self.pdqsort(a, mid, limit);
                a = mid + 1;
            } else {
                was_balanced = right >= balance;
                self.pdqsort(mid + 1, b, limit);
                b = mid;
            }
        }
    }

    /// One quicksort partition of `v[a..b]` around `v[pivot]`: the smaller elements before it,
    /// the others after; returns the pivot's new place and whether nothing had to move.
    fn partition(&mut self, a: usize, b: usize, pivot: usize) -> (usize, bool) {
        self.swap(a, pivot);
        let (mut i, mut j) = (a + 1, b - 1);
        while i <= j && self.less(i, a) {
            i += 1;
        }
        while i <= j && !self.less(j, a) {
            j -= 1;
        }
        if i > j {
            self.swap(j, a);
            return (j, true);
        }
        self.swap(i, j);
        i += 1;
        j -= 1;
        loop {
            while i <= j && self.less(i, a) {
                i += 1;
            }
            while i <= j && !self.less(j, a) {
                j -= 1;
            }
            if i > j {
                break;
            }
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
        self.swap(j, a);
        (j, false)
    }

    /// Parts `v[a..b]`, none below `v[pivot]`, into the pivot's equals and then the greater;
    /// returns where the greater start.
    fn partition_equal(&mut self, a: usize, b: usize, pivot: usize) -> usize {
        self.swap(a, pivot);
        let (mut i, mut j) = (a + 1, b - 1);
        loop {
            while i <= j && !self.less(a, i) {
                i += 1;
            }
            while i <= j && self.less(a, j) {
                j -= 1;
            }
            if i > j {
                return i;
            }
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
    }

    /// Moves up to five out-of-order neighbours into place (on ranges of 50 or more); whether
    /// `v[a..b]` is sorted then. As in Go, an element shifted left may pass below `a`.
    fn partial_insertion_sort(&mut self, a: usize, b: usize) -> bool {
        const MAX_STEPS: usize = 5;
        const SHORTEST_SHIFTING: usize = 50;
        let mut i = a + 1;
        for _ in 0..MAX_STEPS {
            while i < b && !self.less(i, i - 1) {
                i += 1;
            }
            if i == b {
                return true;
            }
            if b - a < SHORTEST_SHIFTING {
                return false;
            }
            self.swap(i, i - 1);
            if i - a >= 2 {
                let mut j = i - 1;
                while j >= 1 && self.less(j, j - 1) {
                    self.swap(j, j - 1);
                    j -= 1;
                }
            }
            if b - i >= 2 {
                let mut j = i + 1;
                while j < b && self.less(j, j - 1) {
                    self.swap(j, j - 1);
                    j += 1;
                }
            }
        }
        false
    }

    /// Swaps the three middle elements of `v[a..b]` with places drawn by a xorshift generator
    /// seeded with the length.
    fn break_patterns(&mut self, a: usize, b: usize) {
        let length = b - a;
        if length < 8 {
            return;
        }
        let mut random = length as u64;
        let mask = (1u64 << bit_len(length)) - 1;
        let middle = a + (length / 4) * 2;
        for idx in middle - 1..=middle + 1 {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let mut other = (random & mask) as usize;
            if other >= length {
                other -= length;
            }
            self.swap(idx, a + other);
        }
    }

    /// The pivot for `v[a..b]` (13 or more elements): the median of three at its quarters, of
    /// three such medians of neighbours from 50 on; the order the samples were in hints at the
    /// range's.
    fn choose_pivot(&mut self, a: usize, b: usize) -> (usize, Hint) {
        const SHORTEST_NINTHER: usize = 50;
        const MAX_SWAPS: usize = 4 * 3;
        let l = b - a;
        let mut swaps = 0;
        let (mut i, mut j, mut k) = (a + l / 4, a + l / 4 * 2, a + l / 4 * 3);
        if l >= 8 {
            if l >= SHORTEST_NINTHER {
                i = self.median(i - 1, i, i + 1, &mut swaps);
                j = self.median(j - 1, j, j + 1, &mut swaps);
                k = self.median(k - 1, k, k + 1, &mut swaps);
            }
            j = self.median(i, j, k, &mut swaps);
        }
        let hint = match swaps {
            0 => Hint::Increasing,
            MAX_SWAPS => Hint::Decreasing,
            _ => Hint::Unknown,
        };
        (j, hint)
    }

    /// The index of the median of `v[a]`, `v[b]`, `v[c]`, counting the orderings it had to turn.
    fn median(&mut self, a: usize, b: usize, c: usize, swaps: &mut usize) -> usize {
        let (a, b) = self.order2(a, b, swaps);
        let (b, _) = self.order2(b, c, swaps);
        let (_, b) = self.order2(a, b, swaps);
        b
    }

    fn order2(&mut self, a: usize, b: usize, swaps: &mut usize) -> (usize, usize) {
        if self.less(b, a) {
            *swaps += 1;
            (b, a)
        } else {
            (a, b)
        }
    }

    fn reverse(&mut self, a: usize, b: usize) {
        self.v[a..b].reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::sort_slice;

    fn numbers(s: &str) -> Vec<usize> {
        s.split_whitespace().map(|x| x.parse().unwrap()).collect()
    }

    #[test]
    fn leaves_every_slice_in_the_order_go_leaves_it() {
        let vectors = include_str!("../../tests/go-sort/vectors.txt");
        let mut checked = 0;
        for (line, text) in vectors.lines().enumerate() {
            let (keys, go) = text.split_once('|').unwrap();
            let (keys, go) = (numbers(keys), numbers(go));
            let mut order: Vec<usize> = (0..keys.len()).collect();
            sort_slice(&mut order, |&a, &b| keys[a] < keys[b]);
            assert_eq!(order, go, "vectors.txt line {}: keys {keys:?}", line + 1);
            checked += 1;
        }
        assert!(checked > 900, "only {checked} vectors read");
    }

    #[test]
    fn sorts_and_keeps_every_element() {
        let mut v: Vec<u32> = (0..2_000u32).map(|i| i.wrapping_mul(2_654_435_761) % 97).collect();
        let mut expected = v.clone();
        expected.sort();
        sort_slice(&mut v, |a, b| a < b);
        assert_eq!(v, expected);
    }
}
