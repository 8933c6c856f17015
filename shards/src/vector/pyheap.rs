//! The order LlamaIndex's `get_top_k_embeddings` gives equal similarities.
//!
//! It pushes `(similarity, id)` tuples on Python's `heapq` in insertion order, pops the
//! least whenever the heap holds more than k, then sorts the heap's list by similarity
//! alone (stable, descending). Distinct similarities come out best first whatever the
//! heap did; equal ones keep the heap list's arrangement, which depends on every tuple
//! pushed. Only that arrangement needs this file: the answer's set is the k largest
//! tuples either way.

use std::cmp::Ordering;

/// One candidate: its similarity and node id.
pub type Entry<'a> = (f64, &'a str);

fn less(a: &Entry<'_>, b: &Entry<'_>) -> bool {
    match a.0.total_cmp(&b.0) {
        Ordering::Less => true,
        Ordering::Greater => false,
        Ordering::Equal => a.1 < b.1,
    }
}

/// `heapq._siftdown`: moves the item at `pos` up towards `start` while it is less than
/// its parent.
fn sift_down(heap: &mut [usize], entries: &[Entry<'_>], start: usize, mut pos: usize) {
    let item = heap[pos];
    while pos > start {
        let parent = (pos - 1) >> 1;
        if less(&entries[item], &entries[heap[parent]]) {
            heap[pos] = heap[parent];
            pos = parent;
            continue;
        }
        break;
    }
    heap[pos] = item;
}

/// `heapq._siftup`: moves the smaller child up until a leaf, puts the item there and
/// sifts it back down.
fn sift_up(heap: &mut [usize], entries: &[Entry<'_>], mut pos: usize) {
    let end = heap.len();
    let start = pos;
    let item = heap[pos];
    let mut child = 2 * pos + 1;
    while child < end {
        let right = child + 1;
        if right < end && !less(&entries[heap[child]], &entries[heap[right]]) {
            child = right;
        }
        heap[pos] = heap[child];
        pos = child;
        child = 2 * pos + 1;
    }
    heap[pos] = item;
    sift_down(heap, entries, start, pos);
}

/// Indexes of `entries` (in insertion order) as LlamaIndex answers the top `k` of them
/// (`k` = 0: none).
pub fn llamaindex_top_k(entries: &[Entry<'_>], k: usize) -> Vec<usize> {
    let k = k.min(entries.len());
    if k == 0 {
        return Vec::new();
    }
    let mut heap: Vec<usize> = Vec::with_capacity(k + 1);
    for i in 0..entries.len() {
        heap.push(i);
        let last = heap.len() - 1;
        sift_down(&mut heap, entries, 0, last);
        if heap.len() > k {
            // heappop: the last item replaces the root, which leaves.
            if let Some(last) = heap.pop()
                && !heap.is_empty()
            {
                heap[0] = last;
                sift_up(&mut heap, entries, 0);
            }
        }
    }
    heap.sort_by(|a, b| entries[*b].0.total_cmp(&entries[*a].0));
    heap
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers of llama-index-core 0.14.25's `get_top_k_embeddings` (and of the same
    /// loop over `heapq` run on these exact numbers) on similarities with many ties.
    #[test]
    fn ties_come_out_as_python_heapq_leaves_them() {
        let ids = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        let sims = [0.5, 0.9, 0.5, 0.7, 0.9, 0.5, 0.1, 0.9, 0.5, 0.7];
        let entries: Vec<Entry<'_>> = sims.iter().copied().zip(ids.iter().copied()).collect();
        let names = |k: usize| -> Vec<&str> { llamaindex_top_k(&entries, k).into_iter().map(|i| ids[i]).collect() };
        assert_eq!(names(3), ["b", "e", "h"]);
        assert_eq!(names(4), ["b", "e", "h", "j"]);
        assert_eq!(names(6), ["b", "e", "h", "d", "j", "i"]);
        assert_eq!(names(10), ["h", "b", "e", "d", "j", "i", "a", "f", "c", "g"]);
        assert_eq!(names(0), Vec::<&str>::new());
    }
}
